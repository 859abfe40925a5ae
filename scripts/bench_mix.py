"""The HTTP benchmarks' request mix, from a demo folder's demo-accounts.json.

Prints a Lua file for scripts/bench-server.lua: in every 20 requests, 14 household views by the social
worker, 3 person views by the GBV specialist and 3 denials (researcher and administrator). With a
second argument, also writes each kind alone to DIR/kind-{households,persons,denials}.lua.

    python3 scripts/bench_mix.py DATA/demo-accounts.json [DIR] > requests.lua
"""
import json
import sys


def lua(requests):
    return "return {\n" + "".join('  {"%s", "%s"},\n' % r for r in requests) + "}\n"


def main():
    d = json.load(open(sys.argv[1]))
    acc = {a["role"]: a for a in d["accounts"]}
    sw, gbv = acc["social_worker"], acc["gbv_specialist"]
    hh = sw["households"]
    mix = [("/v1/households/" + hh[i % len(hh)], sw["token"]) for i in range(14)]
    mix += [("/v1/persons/" + d["example_person"], gbv["token"])] * 3
    mix += [("/v1/persons/" + d["example_person"], acc["researcher"]["token"]),
            ("/v1/households/" + hh[0], acc["researcher"]["token"]),
            ("/v1/households/" + hh[0], acc["administrator"]["token"])]
    order = [0, 14, 1, 2, 17, 3, 4, 15, 5, 6, 18, 7, 8, 16, 9, 10, 19, 11, 12, 13]
    print(lua([mix[i] for i in order]), end="")
    if len(sys.argv) > 2:
        for name, part in (("households", mix[:14]), ("persons", mix[14:17]), ("denials", mix[17:])):
            with open(sys.argv[2] + "/kind-" + name + ".lua", "w") as f:
                f.write(lua(part))


if __name__ == "__main__":
    main()
