import type { PolicyDirection } from '../generated/podwire/v1/PolicyDirection';
import type { PolicyWhyReply } from '../generated/podwire/v1/PolicyWhyReply';
import type { DirectionVerdict, WhyAnswer } from '../policy/why';

function direction(v: DirectionVerdict): PolicyDirection {
  return {
    direction: v.direction,
    pod: v.pod ?? '',
    isolatedBy: v.isolatedBy,
    allowedBy: v.allowedBy.map((m) => ({ policy: m.policy, direction: v.direction, rule: m.rule })),
    allowed: v.allowed,
  };
}

/** `why`'s answer as Debug.PolicyWhy's reply. */
export function policyWhyMessage(a: WhyAnswer): PolicyWhyReply {
  return { allowed: a.allowed, egress: direction(a.egress), ingress: direction(a.ingress), text: a.text };
}
