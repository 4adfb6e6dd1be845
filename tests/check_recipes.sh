#!/usr/bin/env bash
# The configurations the docs ship must be ones vipdnsd accepts: the
# vipdns.conf of each per-cloud recipe (the indented block under its
# "## vipdns.conf" heading), the one inside cloud-init.yaml and the
# packaged deploy/vipdns.conf (also with every commented example line
# enabled).  Key files they name are created empty-but-valid in a scratch
# directory, so `vipdnsd -t` checks the syntax and the cross-option rules.
#   tests/check_recipes.sh PATH_TO_VIPDNSD SOURCE_ROOT
set -euo pipefail
vipdnsd=$1 root=$2
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
python3 - "$root" "$tmp" <<'PY'
import os, re, sys
root, tmp = sys.argv[1], sys.argv[2]
out = []
for name in sorted(os.listdir(os.path.join(root, "deploy/cloud"))):
    path = os.path.join(root, "deploy/cloud", name)
    if name.endswith(".md"):
        lines = open(path).read().split("\n")
        for i, l in enumerate(lines):
            if not l.startswith("## vipdns.conf"):
                continue
            block, j = [], i + 1
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                if lines[j].startswith("    "):
                    block.append(lines[j][4:])
                elif block:
                    block.append("")
                j += 1
            out.append((name, "\n".join(block) + "\n"))
    elif name.endswith(".yaml"):
        import yaml
        files = yaml.safe_load(open(path)).get("write_files", [])
        conf = [f["content"] for f in files if f.get("path") == "/etc/vipdns/vipdns.conf"]
        if not conf:
            sys.exit(f"{name}: no vipdns.conf in write_files")
        out.append((name, conf[0]))
base = open(os.path.join(root, "deploy/vipdns.conf")).read()
out.append(("vipdns.conf", base))
full = [re.sub(r"^#([a-z])", r"\1", l) for l in base.split("\n")]
seen = set()
uniq = []
for l in full:  # the shipped listen lines come after the commented ones
    if l.startswith("listen = ") and l in seen:
        continue
    seen.add(l)
    uniq.append(l)
out.append(("vipdns.conf (all examples on)", "\n".join(uniq)))
if not any(n.endswith(".md") for n, _ in out):
    sys.exit("no recipe found")
for k, (name, conf) in enumerate(out):
    conf = conf.replace("/etc/vipdns/", tmp + "/etc/vipdns/")
    open(os.path.join(tmp, f"{k}.conf"), "w").write(conf)
    open(os.path.join(tmp, f"{k}.name"), "w").write(name)
PY
mkdir -p "$tmp/etc/vipdns/pki"
head -c 32 /dev/urandom | base64 >"$tmp/etc/vipdns/onprem.psk"
for f in node.pem node.key ca.pem; do echo x >"$tmp/etc/vipdns/pki/$f"; done
rc=0 n=0
for c in "$tmp"/*.conf; do
  name=$(<"${c%.conf}.name")
  n=$((n + 1))
  if out=$("$vipdnsd" -t -c "$c" 2>&1); then
    echo "ok   $name"
  else
    echo "FAIL $name: $out"
    rc=1
  fi
done
((n >= 6)) || { echo "FAIL only $n configurations found"; rc=1; }
exit "$rc"
