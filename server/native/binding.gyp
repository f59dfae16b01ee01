{
  "targets": [
    {
      "target_name": "podwire_native",
      "sources": ["addon.c", "setns.c", "peercred.c", "flock.c", "nftables.c", "rtnl.c"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Werror"],
      "libraries": ["-lnftables"]
    }
  ]
}
