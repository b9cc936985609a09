"""Runs inside the VLMEvalKit environment (``python _vlmeval_driver.py config.json``): builds
VLMEvalKit's Arguments from the checked config, registers CustomAPIModel entries as EvalScope's
backend does, and calls ``vlmeval.run.run_task``. Standard library and vlmeval only."""

import json
import os
import sys
from functools import partial


def main(path):
    with open(path, encoding="utf-8") as f:
        cfg = json.load(f)
    from vlmeval.config import supported_VLM
    from vlmeval.run import run_task
    from vlmeval.utils.arguments import Arguments

    names = []
    for m in cfg["model"]:
        if isinstance(m, str):
            names.append(m)
            continue
        m = dict(m)
        name = m.pop("name")
        if name == "CustomAPIModel":
            model_type = m.pop("type")
            norm = os.path.basename(model_type).replace(":", "-").replace(".", "_")
            supported_VLM[norm] = partial(supported_VLM[name], model=model_type, **m)
            names.append(norm)
        else:
            supported_VLM[name] = partial(supported_VLM[name], **m)
            names.append(name)
    cfg["model"] = names
    run_task(Arguments(**cfg))
    print("EVS_MODEL_NAMES=" + json.dumps(names), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
