"""ftops's built-in trainer (``trainer: trl``): TRL's SFTTrainer or DPOTrainer, LoRA or full, on a Ray worker.

Run by ftops's launcher as ``python ftops_trl.py --train F --valid F --out DIR --base MODEL`` with the config
ftops generated from the spec's neutral hyperparameters in FTOPS_TRL_CONFIG (JSON):
``{"trainer": "sft"|"dpo", "args": {SFTConfig/DPOConfig keyword arguments}, "peft": {LoraConfig keyword
arguments} or null}``. Datasets are ftops's: chat rows (``{"messages": [...]}``) for SFT, OpenAI preference rows
(``{"input": {"messages"}, "preferred_output", "non_preferred_output"}``) for DPO, turned into TRL's
conversational prompt / chosen / rejected here. Each log line becomes a row of ``<out>/metrics.jsonl``
(step, epoch, train_loss, valid_loss, learning_rate), which the launcher prints for ftops.

Needs a GPU for real models; the Python packages come from the job's runtime_env pip (trl, peft).
"""

import argparse
import json
import os
import time


def read_rows(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def preference(row):
    """An OpenAI preference row -> TRL's conversational preference example (already TRL's: kept)."""
    if "prompt" in row and "chosen" in row:
        return row
    return {"prompt": row["input"]["messages"], "chosen": row["preferred_output"],
            "rejected": row["non_preferred_output"]}


def dataset(path, kind):
    from datasets import Dataset

    rows = read_rows(path)
    if kind == "dpo":
        rows = [preference(r) for r in rows]
    else:
        rows = [{"messages": r["messages"]} for r in rows]
    return Dataset.from_list(rows)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", required=True)
    parser.add_argument("--valid", default="")
    parser.add_argument("--out", required=True)
    parser.add_argument("--base", required=True)
    options = parser.parse_args()
    config = json.loads(os.environ["FTOPS_TRL_CONFIG"])

    import torch
    from transformers import TrainerCallback

    kind = config["trainer"]
    args = dict(config["args"], output_dir=options.out)
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        args.setdefault("bf16", True)
    if not options.valid:
        args["eval_strategy"] = "no"
    metrics_path = os.path.join(options.out, "metrics.jsonl")

    class Metrics(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            row = {"step": state.global_step, "epoch": logs.get("epoch", state.epoch), "time": int(time.time()),
                   "train_loss": logs.get("loss"), "valid_loss": logs.get("eval_loss"),
                   "learning_rate": logs.get("learning_rate")}
            with open(metrics_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n")

    peft_config = None
    if config.get("peft") is not None:
        from peft import LoraConfig

        peft_config = LoraConfig(**config["peft"])
    train = dataset(options.train, kind)
    valid = dataset(options.valid, kind) if options.valid else None
    if kind == "dpo":
        from trl import DPOConfig as Config
        from trl import DPOTrainer as Trainer
    else:
        from trl import SFTConfig as Config
        from trl import SFTTrainer as Trainer
    trainer = Trainer(model=options.base, args=Config(**args), train_dataset=train, eval_dataset=valid,
                      peft_config=peft_config, callbacks=[Metrics()])
    trainer.train()
    trainer.save_model(options.out)  # a LoRA adapter (with peft_config) or the full model
    if getattr(trainer, "processing_class", None) is not None:
        trainer.processing_class.save_pretrained(options.out)


if __name__ == "__main__":
    main()
