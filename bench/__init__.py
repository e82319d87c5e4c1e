"""The speed bench: Leoflow lite against Apache Airflow 3.2.1's measured figures.

`make bench` (or `python -m bench`) runs each scenario against a real
`leoflow lite` process, from source and from the single executable, and
writes `bench/results/<date>-<commit>.json` plus a Markdown table.
"""
