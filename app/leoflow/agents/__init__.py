"""Agents: `leoflow agent` on other hosts pulls tries from the servers' job table and runs them.

- `credentials.py`: enrollment tokens, agent credentials, names and the version window
- `bundles.py`: the DAG folder as a content-addressed tar an agent fetches and caches
- `executor.py`: the scheduler's `agent` executor (puts tries on the job table, takes their exits)
- `api.py`: `/agent/v1/...` on every server replica (register, claim, ack, heartbeat, exit, logs, bundles)
- `worker.py` and `client.py`: the `leoflow agent` process
"""
