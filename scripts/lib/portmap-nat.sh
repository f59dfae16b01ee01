# The reference portmap plugin (chained in the tests and the benchmark's hostPort rows) makes
# iptables-nft's `ip nat` / `ip6 nat` tables for its CNI-HOSTPORT-* chains and never removes
# them. nat_families_present prints which of the two exist; drop_portmap_nat BEFORE deletes
# each one that was not in BEFORE and holds nothing but portmap's chains and the base chains'
# jumps into them (a table some other program put rules into is left alone).
nat_families_present() {
  local fam
  for fam in ip ip6; do nft list table "$fam" nat >/dev/null 2>&1 && printf '%s ' "$fam"; done
  return 0
}

drop_portmap_nat() {
  local before=" $1 " fam
  for fam in ip ip6; do
    [[ $before == *" $fam "* ]] && continue
    nft list table "$fam" nat >/dev/null 2>&1 || continue
    if nft -j list table "$fam" nat 2>/dev/null | node -e '
      const items = JSON.parse(require("fs").readFileSync(0, "utf8")).nftables ?? [];
      const base = new Set(["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]);
      const chainsOk = items.filter((i) => i.chain).every((i) => base.has(i.chain.name) || i.chain.name.startsWith("CNI-"));
      const rulesOk = items.filter((i) => i.rule && base.has(i.rule.chain)).every((i) => i.rule.expr.some((e) => e.jump && e.jump.target.startsWith("CNI-")));
      process.exit(chainsOk && rulesOk ? 0 : 1);
    '; then
      nft delete table "$fam" nat 2>/dev/null || true
    fi
  done
}
