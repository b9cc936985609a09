"""The plugin registers its benchmarks, model and command, and stays import-light."""

import subprocess
import sys

from evs_core.plugins import make_plugin_manager
from evs_core.registry import get_registries

from evs_vlm._catalog import BENCHMARKS


def test_registrations_come_from_the_vlm_plugin():
    regs = get_registries(make_plugin_manager())
    for name in BENCHMARKS:
        entry = regs.benchmarks.entry(name)
        assert entry.plugin == "vlm"
        cls = regs.benchmarks.load(name)
        assert cls.name == name and (cls.hf_id or name.startswith("general_"))
    assert regs.models.entry("transformers_vlm").plugin == "vlm"
    assert len([n for n in BENCHMARKS if not n.startswith("general_")]) >= 15


def test_plugin_import_is_light():
    code = ("import sys, evs_vlm._plugin, evs_vlm._catalog; "
            "heavy = {'PIL', 'torch', 'transformers', 'pyarrow', 'datasets'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
