{
  "targets": [
    {
      "target_name": "setns",
      "sources": ["setns.c"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
