"""Convert the JDDC 2019 sample (JD.com customer-service chats) into qc's input format.

    python -m tools.real.jddc --mirror /work/.mirror/EndlessLethe+jddc2019-3th-retrieve-model/repo \
        --commit 3b38b33 --out bench/real/jddc-3b38b33

Source: github.com/EndlessLethe/jddc2019-3th-retrieve-model, file data/chat_0.1per.txt at
commit 3b38b33 (the measuring sample; the version at 886ef1d stays unseen, for an
independent check). Licence: JDDC is research-only — never commit the text, never train on it.

Input: one message a line, tab-separated: session id, user id, waiter_send (1 = agent,
0 = customer), is_transferred, is_repeat, sku, text. Output (in --out):
* chats.jsonl — one message a line; timestamps are synthetic (20 s apart, every reply inside
  every timing limit), so only the text rules are judged on this data;
* conversations.txt — the labelling view (`=== id`, then `seq<TAB>客服|顾客<TAB>text`), the
  only thing a blind labeller sees.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

START = datetime(2026, 11, 3, 9, 0, 0)


def read_raw(text: str) -> dict[str, list[tuple[str, str, str | None]]]:
    """{conversation id: [(role, text, sku), ...]} in file order."""
    convs: dict[str, list] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 7:
            continue
        sid, _user, waiter, _tr, _rep, sku, msg = parts[:7]
        cid = "jd-" + hashlib.sha1(sid.encode()).hexdigest()[:10]
        convs.setdefault(cid, []).append(("agent" if waiter.strip() == "1" else "customer", msg.strip(),
                                          None if sku in ("nan", "") else sku))
    return convs


def convert(raw_text: str, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    convs = read_raw(raw_text)
    n = 0
    with (out / "chats.jsonl").open("w", encoding="utf-8") as f, (out / "conversations.txt").open("w", encoding="utf-8") as v:
        for k, (cid, msgs) in enumerate(convs.items()):
            t0 = START + timedelta(minutes=7 * k)
            v.write(f"=== {cid}\n")
            for seq, (role, text, sku) in enumerate(msgs, start=1):
                row = {"conversation_id": cid, "seq": seq, "ts": (t0 + timedelta(seconds=20 * seq)).isoformat() + "+08:00",
                       "role": role, "text": text, "shop_id": "jd", "customer_id": f"buyer-{cid}"}
                if role == "agent":
                    row["agent_id"] = "jd:客服"
                if sku:
                    row["sku"] = sku
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                v.write(f"{seq}\t{'客服' if role == 'agent' else '顾客'}\t{text}\n")
                n += 1
    return {"conversations": len(convs), "messages": n}


def main(argv=None):
    ap = argparse.ArgumentParser(description="JDDC sample -> qc input (research-only data: never commit the output)")
    ap.add_argument("--mirror", required=True, help="git directory of the fetched repository")
    ap.add_argument("--commit", default="3b38b33")
    ap.add_argument("--path", default="data/chat_0.1per.txt")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    raw = subprocess.run(["git", "--git-dir", a.mirror, "show", f"{a.commit}:{a.path}"], capture_output=True,
                         check=True).stdout.decode("utf-8", "replace")
    print(json.dumps(convert(raw, a.out), ensure_ascii=False))


if __name__ == "__main__":
    main()
