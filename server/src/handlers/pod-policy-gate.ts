/**
 * NetworkPolicy as the verb handlers use it: injected (podwired's is policy/node-policy.ts;
 * handlers.test.ts can use a fake), absent when no policy source is configured. A pod is the
 * Pod named by its CNI_ARGS K8S_POD_NAMESPACE and K8S_POD_NAME; attachments without them are
 * not Kubernetes pods and are neither selected nor isolated.
 */
export interface PodRef {
  namespace: string;
  name: string;
}

/** One podwire attachment of a pod: its sandbox (CNI_CONTAINERID), host veth and leased addresses. */
export interface PodInterface {
  sandbox: string;
  ifname: string;
  ips: string[];
}

export interface PodPolicyGate {
  /**
   * ADD, before the pod's interface exists: its labels known (one bounded GET from the source
   * when unseen) and its elements programmed in one transaction, so its policies hold from
   * its first packet. A pod may have several podwire attachments (Multus): each ADD of the
   * same sandbox adds its interface to the ones already policed; an ADD from a new sandbox
   * (the pod's sandbox recreated) replaces the old sandbox's interfaces. Throws CniError: 11
   * (try again later) when the labels cannot be had, 103 when the kernel refuses the policy
   * state; never lets the pod through unpoliced.
   */
  admit(pod: PodRef, local: PodInterface): Promise<void>;
  /**
   * DEL, and ADD's rollback: the elements of the pod's interface `ifname` removed (its other
   * interfaces stay policed); nothing when `ifname` is not registered for it. Throws CniError
   * 103 when the kernel refuses.
   */
  release(pod: PodRef, ifname: string): void;
  /** CHECK: what of the pod's policy state is not as ADD left it ([] when all is). */
  missing(pod: PodRef, ifname: string): string[];
}
