"""Which scheduler may commit decisions: exactly one at a time, whatever fails.

Lite holds its home's lock, so its scheduler is the only one (`SoleLeader`).

Several `leoflow server` replicas share one Postgres (`LeaseLeader`). Every transaction in which a
scheduler decides something starts by taking the transaction-scoped advisory lock LOCK_KEY and
checking that the `scheduler_lease` row names this scheduler; otherwise it rolls back. The lease is
renewed about once a second (each renewal waits for the disk) and taken over by another replica only
once it has expired, both under the same lock. So a replica that was killed, frozen or cut off can never
commit a decision after another took over: its next transaction finds the other's name in the lease and
rolls back, and a transaction it left open keeps the lock only until Postgres ends the idle session
(`idle_in_transaction_session_timeout`, set on every server connection by store/engine.py). Within half
a lease of its last renewal a leader skips reading the row: no takeover can have happened that soon.

The triggerer's and the DAG processor's leases work the same way under locks and names of their own:
one process runs the triggers, one parses the DAG folder.
Lease times are the database's clock, never a replica's.
"""

from __future__ import annotations

import contextlib
import logging
import time

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from ..config import hostname as config_hostname

log = logging.getLogger(__name__)

LOCK_KEY = 0x4C454F464C4F5701  # "LEOFLOW" + 1: the scheduler's advisory lock
LEASE_NAME = "scheduler"
TRIGGERER_LOCK_KEY = 0x4C454F464C4F5703  # "LEOFLOW" + 3: the triggerer's, leased the same way
PROCESSOR_LOCK_KEY = 0x4C454F464C4F5704  # "LEOFLOW" + 4: the DAG processor's
LEASE_SECONDS = 4.0  # a dead leader is replaced this long after its last renewal (plus one standby poll)
RENEW_EVERY = 1.0  # a leader's decision transactions renew the lease when it is older than this
LOCK_WAIT = "2s"  # how long the leader waits for the lock a standby holds for an instant


class NotLeader(Exception):
    """This scheduler does not hold the lease: the transaction was rolled back, nothing was decided."""


class SoleLeader:
    """Lite: the only scheduler on its database."""

    is_leader = True

    def __init__(self, engine):
        self.engine = engine

    def renew(self) -> bool:
        return True

    def begin(self):
        return self.engine.begin()

    def release(self) -> None:
        pass


class LeaseLeader:
    """A server replica's scheduler: leads while it holds the lease in `scheduler_lease`."""

    def __init__(self, engine, job_id: int, *, lease_seconds: float = LEASE_SECONDS, hostname: str | None = None,
                 name: str = LEASE_NAME, lock_key: int = LOCK_KEY):
        self.engine = engine
        self.job_id = job_id
        self.name, self.lock_key = name, lock_key
        self.lease_seconds = lease_seconds
        self.hostname = hostname or config_hostname()
        self.is_leader = False
        self._renewed = float("-inf")  # monotonic time of the last renewal this process committed
        # Until this monotonic time no other process can have taken the lease over (see begin()).
        self._unchallenged_until = float("-inf")

    def _lock(self, conn) -> bool:
        """The advisory lock for this transaction: a leader waits a moment for it, a standby only tries."""
        if conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": self.lock_key}).scalar():
            return True  # the usual case: one round trip
        if not self.is_leader:
            return False
        conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'"))
        try:
            with conn.begin_nested():
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": self.lock_key})
        except OperationalError:  # lock_timeout: another session holds it (a frozen former leader?)
            return False
        conn.execute(text("SET LOCAL lock_timeout = DEFAULT"))
        return True

    def renew(self) -> bool:
        """Keep the lease, or take it over once it has expired. True while this scheduler leads."""
        was = self.is_leader
        started = time.monotonic()  # before the renewal's transaction, whose now() is later than this
        self._unchallenged_until = float("-inf")
        try:
            with self.engine.begin() as conn:
                if not self._lock(conn):
                    self.is_leader = False
                else:
                    self.is_leader = self._renew_locked(conn)
            if self.is_leader:
                # The lease now expires no sooner than lease_seconds after `started` (a takeover waits for
                # that) and the renewal is on disk; half of it leaves room for clock-rate differences.
                self._unchallenged_until = started + self.lease_seconds / 2
        except OperationalError as exc:  # the database is away: lead no more until it answers again
            if was:
                log.warning("Scheduler lease not renewed (%s); standing by", str(exc).splitlines()[0])
            self.is_leader = False
        if self.is_leader != was:
            log.info("This %s (job %s on %s) %s", self.name, self.job_id, self.hostname,
                     "now leads" if self.is_leader else f"stands by: another {self.name} leads")
        return self.is_leader

    def _renew_locked(self, conn) -> bool:
        params = {"name": self.name, "me": self.job_id, "host": self.hostname, "ttl": self.lease_seconds}
        row = conn.execute(text("SELECT holder_job_id, expires_at < now() AS expired FROM scheduler_lease "
                                "WHERE name = :name"), params).first()
        if row is None:
            conn.execute(text("INSERT INTO scheduler_lease (name, holder_job_id, holder_hostname, expires_at) "
                              "VALUES (:name, :me, :host, now() + make_interval(secs => :ttl))"), params)
            self._renewed = time.monotonic()
            return True
        if row.holder_job_id == self.job_id or row.expired or row.holder_job_id is None:
            # Renewals wait for the disk too (one a second): a decision made soon after one trusts it
            # without reading the lease again (begin()), so a Postgres crash must not lose it.
            conn.execute(text("UPDATE scheduler_lease SET holder_job_id = :me, holder_hostname = :host, "
                              "expires_at = now() + make_interval(secs => :ttl) WHERE name = :name"), params)
            self._renewed = time.monotonic()
            return True
        return False

    @contextlib.contextmanager
    def begin(self):
        """A transaction that commits only while this scheduler holds the lease; else NotLeader."""
        with self.engine.begin() as conn:
            if not self.is_leader or not self._lock(conn):
                raise NotLeader("another scheduler holds the lock")
            # Under the lock nobody can take the lease over until this commits; before it, only once the
            # lease expired. Soon after a renewal that cannot have happened yet: the lease is read only
            # when the last renewal is older than half a lease (a replica frozen or cut off for longer).
            if time.monotonic() >= self._unchallenged_until:
                holder = conn.execute(text("SELECT holder_job_id FROM scheduler_lease WHERE name = :name"),
                                      {"name": self.name}).scalar()
                if holder != self.job_id:
                    self.is_leader = False
                    raise NotLeader(f"the lease belongs to scheduler job {holder}")
            if time.monotonic() - self._renewed > RENEW_EVERY:  # a long pass keeps its lease as it goes
                conn.execute(text("UPDATE scheduler_lease SET expires_at = now() + make_interval(secs => :ttl) "
                                  "WHERE name = :name"), {"name": self.name, "ttl": self.lease_seconds})
                self._renewed = time.monotonic()
            yield conn

    def release(self) -> None:
        """On a clean stop: end the lease now, so a standby takes over at its next poll."""
        self._unchallenged_until = float("-inf")
        if not self.is_leader:
            return
        try:
            with self.engine.begin() as conn:
                if self._lock(conn):
                    conn.execute(text("UPDATE scheduler_lease SET expires_at = now() - interval '1 second' "
                                      "WHERE name = :name AND holder_job_id = :me"),
                                 {"name": self.name, "me": self.job_id})
        except OperationalError:
            pass
        self.is_leader = False


_LEASES = {"scheduler": LOCK_KEY, "triggerer": TRIGGERER_LOCK_KEY, "dag-processor": PROCESSOR_LOCK_KEY}


def leadership_for(engine, job_id: int, *, name: str = LEASE_NAME):
    """The right kind for the database: a lease named `name` on Postgres, the sole leader on SQLite."""
    if engine.dialect.name != "postgresql":
        return SoleLeader(engine)
    return LeaseLeader(engine, job_id, name=name, lock_key=_LEASES[name])
