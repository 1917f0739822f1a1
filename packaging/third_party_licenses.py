"""Lists the crates compiled into the packaged binaries, with their versions and licences.

Usage: third_party_licenses.py PACKAGE... < `cargo metadata --format-version 1 --filter-platform TRIPLE`
Only normal dependencies are followed: build scripts and dev-dependencies are not shipped.
"""

import json
import sys


def main() -> None:
    roots = set(sys.argv[1:])
    metadata = json.load(sys.stdin)
    packages = {p["id"]: p for p in metadata["packages"]}
    nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
    todo = [p["id"] for p in metadata["packages"] if p["name"] in roots]
    missing = roots - {packages[i]["name"] for i in todo}
    if missing:
        sys.exit(f"third_party_licenses.py: no package named {', '.join(sorted(missing))}")
    seen = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for dep in nodes[node]["deps"]:
            if any(kind["kind"] is None for kind in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    print("Rust crates in /usr/bin/fpt-login and /usr/bin/fpt-login-desktop\n")
    for node in sorted(seen, key=lambda i: (packages[i]["name"], packages[i]["version"])):
        package = packages[node]
        if package["source"] is None:
            continue  # this project's own crates (copyright)
        licence = package.get("license") or f"see {package.get('license_file')}"
        print(f"{package['name']} {package['version']}: {licence}")


if __name__ == "__main__":
    main()
