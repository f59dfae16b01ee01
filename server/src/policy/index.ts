/**
 * NetworkPolicy for podwired (issue 22): the model, its sources, the compiler to nftables
 * commands of podwired's table, and `why`. podwired wires them through node-policy.ts
 * (NodePolicy: start, admit, release, reload, why; its objects join the table's whole
 * writes through policy-table.ts); in outline:
 *
 *   // start (after NftTables.rebuild, whose wholeTableCommands recreate the table):
 *   const cfg = parsePolicyConfig(raw.policy);                    // none | file | kubernetes
 *   const source = cfg.source === 'file' ? new FilePolicySource({ file: cfg.file })
 *                : await KubernetesPolicySource.create({ kubeconfig: cfg.kubeconfig });
 *   const compiler = new PolicyCompiler({ table: tableNameOf(ownerTag) });
 *   let synced = false;
 *   await source.start({
 *     onSnapshot: (s) => { const c = applySnapshot(compiler, s); if (synced) nft.run('policy sync', c); },
 *     onChange: (ch) => nft.run('policy change', applyChange(compiler, ch)),
 *     onProblem: (m) => log.warn(m),
 *   });                                                            // resolves after the first snapshot
 *   for (const lease of leasesHere) compiler.setLocal(`${ns}/${name}`, [{ ifname, ips }]);  // every interface of its newest sandbox; before build: no commands needed
 *   nft.run('policy build', compiler.build()); synced = true;      // or append build() to the table's rebuild transaction
 *
 *   // ADD (K8S_POD_NAMESPACE/K8S_POD_NAME from CNI_ARGS), before ADD returns:
 *   if (!compiler.world.pods.has(key)) {                           // labels not seen yet
 *     const pod = await source.fetchPod(ns, name, 2000);           // throws on the deadline
 *     if (!pod) throw new CniError(CniCode.TryAgainLater, ...);    // never fail-open
 *     nft.run('policy pod', compiler.setPod(pod));
 *   }
 *   nft.run('policy ADD', compiler.setLocal(key, [...interfacesOfItsSandbox, { ifname: hostVeth, ips: leasedIPs }]));
 *   // DEL:
 *   nft.run('policy DEL', compiler.removeLocal(key));
 *   // SIGHUP with the file source: (source as FilePolicySource).reload() -> onSnapshot.
 *   // A refused transaction: recreate the table and run compiler.build() (the compiler's
 *   // view of the kernel is then right again).
 *   // podwirectl policy why: why(compiler.world, { src, dst, port, protocol }).text
 */
export { applyChange, applySnapshot } from './apply-snapshot';
export { PolicyCompiler } from './compile/policy-compiler';
export type { PolicyCompilerOptions } from './compile/policy-compiler';
export type { LocalEndpoint } from './compile/pod-elements';
export { POLICY_CHAINS, POLICY_SETS } from './compile/policy-layout';
export { FilePolicySource, parsePolicyFile } from './file-policy-source';
export { KubernetesPolicySource } from './kubernetes-policy-source';
export type { KubernetesPolicySourceOptions } from './kubernetes-policy-source';
export * from './model';
export { parseNamespace, parseNetworkPolicy, parseObject, parsePod } from './parse';
export { PolicyError, isPolicyError } from './policy-error';
export type { PolicyChange, PolicySnapshot, PolicySource, PolicySourceHandlers } from './policy-source';
export { PolicyWorld } from './policy-world';
export { NodePolicy } from './node-policy';
export type { NodePolicyOptions, NodePolicyStats, PolicyRunner, StoredLocalPod } from './node-policy';
export { policyDrift, policyTableExtension } from './policy-table';
export { storedLocalPods } from './stored-local-pods';
export { parseWhyArgs, why } from './why';
export type { DirectionVerdict, Endpoint, RuleMatch, WhyAnswer, WhyQuery } from './why';
