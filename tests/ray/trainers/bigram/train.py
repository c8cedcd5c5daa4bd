"""A genuinely small trainer for the Ray tests: a word bigram language model over the assistant turns of a chat
dataset, trained with plain SGD on a real cross-entropy (pure Python, CPU, a second or two). It follows ftops's
trainer contract: reads the staged data, writes the model into the output directory and one metrics.jsonl row per
epoch (step, train_loss, valid_loss).

Test knobs (environment): BIGRAM_FAIL_IF_EXISTS=<path> raises while that file exists; BIGRAM_HOLD_SECONDS=<s>
keeps the run going that long before training (a run to stop).
"""

import argparse
import json
import math
import os
import time


def sentences(path):
    out = []
    if not path:
        return out
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                for message in json.loads(line)["messages"]:
                    if message["role"] == "assistant":
                        out.append(["<s>"] + message["content"].lower().replace(".", " .").split() + ["</s>"])
    return out


def loss_and_grads(weights, vocab, data, learn=0.0):
    """Mean cross-entropy of next-word prediction; with ``learn``, one SGD step per word pair."""
    total, count = 0.0, 0
    for words in data:
        for prev, nxt in zip(words, words[1:]):
            row = weights[vocab.get(prev, 0)]
            top = max(row)
            exps = [math.exp(v - top) for v in row]
            norm = sum(exps)
            target = vocab.get(nxt, vocab["<unk>"])
            total -= math.log(exps[target] / norm)
            count += 1
            if learn:
                for j, e in enumerate(exps):
                    row[j] -= learn * (e / norm - (1.0 if j == target else 0.0))
    return total / max(count, 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--valid", default="")
    parser.add_argument("--out", required=True)
    parser.add_argument("--hyper", default="{}")
    args = parser.parse_args()
    flag = os.environ.get("BIGRAM_FAIL_IF_EXISTS")
    if flag and os.path.exists(flag):
        raise ValueError(f"bigram: refusing to train while {os.path.basename(flag)} exists")
    time.sleep(float(os.environ.get("BIGRAM_HOLD_SECONDS", "0")))
    hyper = json.loads(args.hyper)
    train, valid = sentences(args.data), sentences(args.valid)
    vocab = {"<unk>": 0}
    for words in train:
        for w in words:
            vocab.setdefault(w, len(vocab))
    weights = [[0.0] * len(vocab) for _ in vocab]
    metrics = open(os.path.join(args.out, "metrics.jsonl"), "a", encoding="utf-8")
    for epoch in range(1, int(hyper.get("n_epochs", 3)) + 1):
        train_loss = loss_and_grads(weights, vocab, train, learn=float(hyper.get("learning_rate", 0.5)))
        row = {"step": epoch, "epoch": epoch, "train_loss": round(loss_and_grads(weights, vocab, train), 6)}
        if valid:
            row["valid_loss"] = round(loss_and_grads(weights, vocab, valid), 6)
        metrics.write(json.dumps(row) + "\n")
        metrics.flush()
        print(f"epoch {epoch}: sgd pass loss {train_loss:.4f}", flush=True)
    with open(os.path.join(args.out, "model.json"), "w", encoding="utf-8") as fh:
        json.dump({"vocab": vocab, "weights": weights}, fh)


if __name__ == "__main__":
    main()
