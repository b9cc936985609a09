"""evs-viz: a Streamlit dashboard over evs eval and perf outputs.

Import-light: nothing here imports streamlit, pandas or plotly. The file discovery and loading
logic lives in :mod:`evs_viz.data` (plain Python), the paired statistics in
:mod:`evs_core.stats`, and the Streamlit script in ``evs_viz/app.py``.
"""

__version__ = "0.1.0"
