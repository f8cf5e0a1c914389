"""What users rely on in python/coroner_asyncio.py, on the python running this.

usage: python3 tests/module/test_module.py [--all-pythons]
Exit 0 pass, 1 fail, 77 skip (python older than 3.9). --all-pythons: run under every Python
3.9+ found (pyenv versions, /usr/bin/python3.X), exit 1 if any fails.
Each case runs its program in a subprocess (install() patches asyncio process-wide) and reads
the JSON lines it wrote.
"""

import glob
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_DIR = os.path.join(HERE, "..", "..", "python")

PRELUDE = """
import asyncio, json, os, signal, sys, threading, time, logging
sys.path.insert(0, %r)
import coroner_asyncio as ca
from coroner_asyncio import stage, emit
LOG = sys.argv[1]
KEEP = []  # tasks kept alive: a pending task nobody holds may be collected before the stop
def install():
    ca.install(stream=open(LOG, "w"))
""" % os.path.abspath(MODULE_DIR)


def run(body, expect_rc=0, sig=None, sig_after=0, sig_again=None):
    """Run PRELUDE + body in a fresh python; return (records, returncode, stderr). sig: sent
    sig_after seconds after the program printed "ready", and again sig_again seconds later."""
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "log.jsonl")
        src = PRELUDE + textwrap.dedent(body)
        if sig is None:
            p = subprocess.run([sys.executable, "-c", src, log], capture_output=True, text=True, timeout=60)
            rc, err = p.returncode, p.stderr
        else:
            p = subprocess.Popen([sys.executable, "-c", src, log], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == "ready"
            time.sleep(sig_after)
            p.send_signal(sig)
            if sig_again is not None:
                time.sleep(sig_again)
                p.send_signal(sig)
            out, err = p.communicate(timeout=60)
            rc = p.returncode
        recs = []
        if os.path.exists(log):
            with open(log) as f:
                recs = [json.loads(line) for line in f]  # every line whole and valid
        if expect_rc is not None and rc != expect_rc:
            raise AssertionError("exit status %r, wanted %r; stderr:\n%s" % (rc, expect_rc, err))
        return recs, rc, err


def line_of(body, text):
    """The line of the program run(body) runs where text is first found (as <string>:N)."""
    lines = (PRELUDE + textwrap.dedent(body)).splitlines()
    return [n for n, line in enumerate(lines, 1) if text in line][0]


def waits(recs, task=None):
    return [r for r in recs if r.get("coroner") == "wait" and (task is None or r["task"] == task)]


class Waits(unittest.TestCase):
    def one_wait(self, body, task, text_part, awaits=None):
        recs, _, _ = run(body)
        w = waits(recs, task)
        self.assertTrue(w, "no wait record for %s: %s" % (task, waits(recs)))
        self.assertIn(text_part, w[0]["waiting_for"])
        if awaits is not None:
            self.assertEqual(w[0].get("awaits"), awaits)
        return recs

    def test_plain_await_task(self):
        self.one_wait("""
            async def child(): await asyncio.sleep(0.01); return 7
            async def main():
                install()
                t = asyncio.create_task(child(), name="kid")
                assert await t == 7
            asyncio.run(main())
        """, "Task-1", "task kid", ["kid"])

    def test_gather_wait_wait_for_as_completed_shield(self):
        recs, _, _ = run("""
            async def child(n): await asyncio.sleep(0.01); return n
            async def main():
                install()
                assert await asyncio.gather(child(1), child(2)) == [1, 2]
                t = asyncio.create_task(child(3), name="w1")
                done, pend = await asyncio.wait({t})
                assert t in done and not pend
                t = asyncio.create_task(child(4), name="wf")
                assert await asyncio.wait_for(t, 5) == 4
                ts = [asyncio.create_task(child(5), name="ac")]
                for f in asyncio.as_completed(ts):
                    assert await f == 5
                t = asyncio.create_task(child(6), name="sh")
                assert await asyncio.shield(t) == 6
            asyncio.run(main())
        """)
        texts = [w["waiting_for"] for w in waits(recs, "Task-1")]
        for part in ("gather of 2 tasks", "asyncio.wait on 1 tasks", "wait_for", "as_completed", "shield"):
            self.assertTrue(any(part in t for t in texts), (part, texts))
        by = {w["waiting_for"]: w.get("awaits") for w in waits(recs, "Task-1")}
        self.assertEqual(by["wait_for"], ["wf"])
        self.assertEqual(by["shield"], ["sh"])
        self.assertEqual(sum(1 for t in texts if t == "task wf"), 0, "wait_for logged twice")

    def test_primitives(self):
        recs, _, _ = run("""
            async def holder(lock, ev):
                async with lock:
                    await ev.wait()
            async def main():
                install()
                lock, ev, q, sem = asyncio.Lock(), asyncio.Event(), asyncio.Queue(), asyncio.Semaphore(0)
                cond = asyncio.Condition()
                h = asyncio.create_task(holder(lock, ev), name="holder")
                await asyncio.sleep(0.01)
                async def want_lock():
                    async with lock: pass
                async def want_q(): return await q.get()
                async def want_sem(): await sem.acquire()
                async def want_cond():
                    async with cond: await cond.wait()
                async def want_fut(f): return await f
                fut = asyncio.get_running_loop().create_future()
                ts = [asyncio.create_task(c, name=n) for c, n in ((want_lock(), "L"), (want_q(), "Q"),
                      (want_sem(), "S"), (want_cond(), "C"), (want_fut(fut), "F"))]
                await asyncio.sleep(0.01)
                ev.set(); q.put_nowait(1); sem.release(); fut.set_result(2)
                async with cond: cond.notify_all()
                await asyncio.gather(h, *ts)
                free = asyncio.Lock()
                async with free: pass          # uncontended: no record
                q.put_nowait(3); await q.get()  # non-empty: no record
            asyncio.run(main())
        """)
        def text(t):
            w = waits(recs, t)
            self.assertEqual(len(w), 1, (t, waits(recs)))
            return w[0]
        self.assertIn("asyncio.Event created at <string>:", text("holder")["waiting_for"])
        lk = text("L")
        self.assertIn("asyncio.Lock created at <string>:", lk["waiting_for"])
        self.assertIn("held by holder", lk["waiting_for"])
        self.assertEqual(lk["awaits"], ["holder"])
        self.assertIn("asyncio.Queue.get on a queue created at", text("Q")["waiting_for"])
        self.assertIn("asyncio.Semaphore created at", text("S")["waiting_for"])
        self.assertIn("asyncio.Condition created at", text("C")["waiting_for"])
        self.assertIn("a future created at <string>:", text("F")["waiting_for"])
        self.assertEqual(waits(recs, "Task-1"), [w for w in waits(recs, "Task-1") if "gather" in w["waiting_for"]])

    def test_semaphore_holders(self):
        recs, _, _ = run("""
            async def hold(sem, ev):
                async with sem:
                    await ev.wait()
            async def want(sem):
                async with sem: pass
            async def main():
                install()
                ev = asyncio.Event()
                sem, counter = asyncio.Semaphore(2), asyncio.BoundedSemaphore(1)
                hs = [asyncio.create_task(hold(sem, ev), name="h%d" % n) for n in (1, 2)]
                await asyncio.sleep(0.01)
                w = asyncio.create_task(want(sem), name="W")
                await counter.acquire()         # main holds it ...
                async def give(): counter.release()
                await asyncio.create_task(give(), name="giver")  # ... a task holding nothing releases it
                await counter.acquire()
                async def want_counter():
                    async with counter: pass
                c = asyncio.create_task(want_counter(), name="K")
                await asyncio.sleep(0.01)
                counter.release()
                ev.set()
                await asyncio.gather(w, c, *hs)
            asyncio.run(main())
        """)
        (w,) = waits(recs, "W")
        self.assertIn("asyncio.Semaphore created at <string>:", w["waiting_for"])
        self.assertTrue(w["waiting_for"].endswith(", held by h1, h2"), w)
        self.assertEqual(w["awaits"], ["h1", "h2"])
        (k,) = waits(recs, "K")  # the holders of a semaphore used as a counter are not known
        self.assertNotIn("held by", k["waiting_for"])
        self.assertNotIn("awaits", k)

    @unittest.skipIf(sys.version_info < (3, 11), "asyncio.Barrier is 3.11+")
    def test_barrier(self):
        recs, _, _ = run("""
            async def party(b):
                await b.wait()
            async def main():
                install()
                b = asyncio.Barrier(2)
                p = asyncio.create_task(party(b), name="P")
                await asyncio.sleep(0.01)
                await b.wait()
                await p
            asyncio.run(main())
        """)
        (w,) = waits(recs, "P")
        self.assertIn("asyncio.Barrier of 2 parties created at <string>:", w["waiting_for"])

    def test_lock_deadlock_is_a_cycle(self):
        recs, _, _ = run("""
            async def xfer(a, b):
                async with a:
                    await asyncio.sleep(0.01)
                    async with b: pass
            async def main():
                install()
                a, b = asyncio.Lock(), asyncio.Lock()
                x = asyncio.create_task(xfer(a, b), name="xa")
                y = asyncio.create_task(xfer(b, a), name="xb")
                await asyncio.sleep(0.05)
                x.cancel(); y.cancel()
                await asyncio.gather(x, y, return_exceptions=True)
            asyncio.run(main())
        """)
        self.assertEqual(waits(recs, "xa")[0]["awaits"], ["xb"])
        self.assertEqual(waits(recs, "xb")[0]["awaits"], ["xa"])

    @unittest.skipIf(sys.version_info < (3, 11), "TaskGroup is 3.11+")
    def test_taskgroup(self):
        recs, _, _ = run("""
            async def ok(): await asyncio.sleep(0.02)
            async def bad(): raise ValueError("boom")
            async def main():
                install()
                try:
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(ok(), name="tg-ok")
                        tg.create_task(bad(), name="tg-bad")
                        await asyncio.sleep(0.01)
                except* ValueError as eg:
                    assert len(eg.exceptions) == 1
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(ok(), name="tg-2")
            asyncio.run(main())
        """)
        w = [x for x in waits(recs, "Task-1") if x["waiting_for"].startswith("TaskGroup")]
        self.assertEqual(len(w), 2, waits(recs))
        self.assertIn("tg-bad", w[0]["awaits"])
        self.assertEqual(w[1]["awaits"], ["tg-2"])


    def test_late_observation_of_a_failed_task(self):
        # await on a task already done, and (3.12+) a gather done at once, never block: for a
        # failed task they are still where its exception is observed, so they are logged.
        recs, _, _ = run("""
            async def bad(): raise KeyError("k")
            async def good(): return 1
            async def main():
                install()
                b1 = asyncio.create_task(bad(), name="b1")
                b2 = asyncio.create_task(bad(), name="b2")
                g1 = asyncio.create_task(good(), name="g1")
                g2 = asyncio.create_task(good(), name="g2")
                await asyncio.sleep(0.01)
                try:
                    await b1
                except KeyError:
                    pass
                assert await g1 == 1  # done ok: nothing to observe, no record
                r = await asyncio.gather(b2, g2, return_exceptions=True)
                assert isinstance(r[0], KeyError) and r[1] == 1
                assert await asyncio.gather(g1, g2) == [1, 1]
                b3 = asyncio.create_task(bad(), name="b3")
                b4 = asyncio.create_task(bad(), name="b4")
                await asyncio.sleep(0.01)
                done, _ = await asyncio.wait([b3, g1])
                assert len(done) == 2 and isinstance(b3.exception(), KeyError)
                await asyncio.wait([g1, g2])  # all ok: no record
                for f in asyncio.as_completed([b4, g2]):
                    try:
                        await f
                    except KeyError:
                        pass
            asyncio.run(main())
        """)
        w = [x for x in waits(recs, "Task-1") if x.get("awaits") not in (None, ["g1", "g2"])]
        # (before 3.12 a gather of done tasks is not done at once: it is logged as any gather;
        # as_completed names the failed task, not the one that ended ok)
        self.assertEqual([x.get("awaits") for x in w], [["b1"], ["b2", "g2"], ["b3", "g1"], ["b4"]], w)
        self.assertEqual(w[0]["waiting_for"], "task b1")
        self.assertEqual(len([x for x in waits(recs, "Task-1") if x.get("awaits") == ["g1", "g2"]]),
                         1 if sys.version_info < (3, 12) else 0)

    def test_queue_join(self):
        recs, _, _ = run("""
            async def main():
                install()
                q = asyncio.Queue()
                q.put_nowait(1)
                async def drain():
                    await asyncio.sleep(0.01)
                    q.get_nowait(); q.task_done()
                d = asyncio.create_task(drain(), name="drain")
                await q.join()
                await d
                await q.join()  # nothing unfinished: no record
            asyncio.run(main())
        """)
        w = [x["waiting_for"] for x in waits(recs, "Task-1") if "drain" not in x.get("awaits", [])]
        self.assertEqual(len(w), 1, waits(recs))
        self.assertIn("asyncio.Queue.join on a queue created at <string>:", w[0])

    @unittest.skipIf(sys.version_info < (3, 11), "asyncio.timeout is 3.11+")
    def test_stage_inside_an_expired_timeout_scope(self):
        # The block sees a CancelledError; the scope turns it into TimeoutError: the stage's
        # error record says TimeoutError, whether the caller catches it or not.
        recs, _, _ = run("""
            async def main():
                install()
                try:
                    async with asyncio.timeout(0.01):
                        with stage("outer"):
                            with stage("lookup"):
                                await asyncio.sleep(1)
                except TimeoutError:
                    pass
                async with asyncio.timeout(1):      # does not expire: no error
                    with stage("quick"):
                        await asyncio.sleep(0.001)
                async def victim():
                    async with asyncio.timeout(5):
                        with stage("cancelled"):     # a real cancellation: no error
                            await asyncio.sleep(1)
                v = asyncio.create_task(victim(), name="victim")
                await asyncio.sleep(0.01)
                v.cancel()
                await asyncio.gather(v, return_exceptions=True)
            asyncio.run(main())
        """)
        errs = [r for r in recs if r.get("level") == "error"]
        self.assertEqual([(r["task"], r["stage"], r["error_type"]) for r in errs],
                         [("Task-1", "lookup", "TimeoutError")], errs)
        self.assertEqual([r["status"] for r in recs if r.get("task") == "victim" and "status" in r][-1],
                         "cancelled")

    @unittest.skipIf(sys.version_info < (3, 11), "asyncio.timeout() and TaskGroup are 3.11+")
    def test_a_timeout_that_cut_off_a_child_is_one_record_in_the_caller(self):
        # The scope cut off a TaskGroup child in its stage: the caller writes one TimeoutError
        # record, with no stage (it timed out in its own), and the stage block around the scope
        # writes none again; a ticker's expired scope around an Event writes nothing.
        recs, _, _ = run("""
            async def part(slow):
                with stage("fetch"):
                    await asyncio.sleep(1 if slow else 0.001)
            async def main():
                install()
                try:
                    with stage("refresh"):
                        async with asyncio.timeout(0.05):
                            async with asyncio.TaskGroup() as tg:
                                tg.create_task(part(False), name="quick")
                                tg.create_task(part(True), name="slow")
                except TimeoutError:
                    stage("serve stale")
                try:
                    async with asyncio.timeout(0.01):
                        await asyncio.Event().wait()
                except TimeoutError:
                    pass
            asyncio.run(main())
        """)
        errs = [r for r in recs if r.get("level") == "error"]
        self.assertEqual([(r["task"], r.get("stage"), r["error_type"]) for r in errs],
                         [("Task-1", None, "TimeoutError")], errs)
        self.assertEqual([r["status"] for r in recs if r.get("task") == "slow" and "status" in r][-1],
                         "cancelled")

    def test_stage_in_a_wait_for_that_times_out(self):
        # Before 3.12 wait_for runs the coroutine as an inner task and cancels it on the timeout;
        # the records must tell what 3.12+ (the coroutine run in the caller) tells: the stage
        # timed out in the caller, which got the TimeoutError; the inner task timed out too, in
        # that stage, and ended timed out, not cancelled after a silence.
        recs, _, _ = run("""
            async def fetch(what, t):
                if what is None:
                    return await asyncio.sleep(t)
                with stage(what):
                    await asyncio.sleep(t)
            async def main():
                install()
                try:
                    await asyncio.wait_for(fetch("slow fetch", 1), 0.01)
                except asyncio.TimeoutError:
                    pass
                await asyncio.wait_for(fetch("quick fetch", 0.001), 1)  # in time: no error
                try:
                    await asyncio.wait_for(fetch(None, 1), 0.01)  # no stage cut off: as before
                except asyncio.TimeoutError:
                    pass
                async def victim():
                    await asyncio.wait_for(fetch("victim fetch", 1), 5)
                v = asyncio.create_task(victim(), name="victim")
                await asyncio.sleep(0.01)
                v.cancel()  # a real cancellation: no error, the inner task cancelled
                await asyncio.gather(v, return_exceptions=True)
            asyncio.run(main())
        """)
        errs = [(r["task"], r["stage"], r["error_type"]) for r in recs if r.get("level") == "error"]
        ends = {r["task"]: r["status"] for r in recs if r.get("status") not in (None, "created", "started")}
        ran = {r["stage"]: r["task"] for r in recs if "stage" in r and "level" not in r}
        if sys.version_info >= (3, 12):
            self.assertEqual(ran, {"slow fetch": "Task-1", "quick fetch": "Task-1", "victim fetch": "victim"})
            self.assertEqual(errs, [("Task-1", "slow fetch", "TimeoutError")])
            self.assertNotIn("timed_out", ends.values())
            return
        self.assertNotIn("Task-1", ran.values())
        self.assertEqual(errs, [(ran["slow fetch"], "slow fetch", "TimeoutError"),
                                ("Task-1", "slow fetch", "TimeoutError")])
        self.assertEqual((ends[ran["slow fetch"]], ends[ran["quick fetch"]], ends[ran["victim fetch"]]),
                         ("timed_out", "done", "cancelled"))
        self.assertEqual(list(ends.values()).count("timed_out"), 1, ends)  # the bare one: cancelled
        self.assertEqual(list(ends.values()).count("cancelled"), 3, ends)  # bare, victim's inner, victim


class SameAsPlain(unittest.TestCase):
    BODY = """
        async def child(n, fail=False):
            await asyncio.sleep(0.005)
            if fail: raise KeyError(n)
            return n * 2
        async def scenario():
            out = []
            out.append(await asyncio.gather(child(1), child(2, True), return_exceptions=True))
            t = asyncio.create_task(child(3), name="named")
            out.append(t.get_name())
            out.append(await t)
            try:
                await asyncio.create_task(child(4, True))
            except KeyError as e:
                out.append("KeyError %r" % e.args)
            slow = asyncio.create_task(asyncio.sleep(5))
            try:
                await asyncio.wait_for(slow, 0.01)
            except asyncio.TimeoutError:
                out.append(("timeout", slow.cancelled()))
            inner = asyncio.create_task(child(5))
            outer = asyncio.shield(inner)
            outer.cancel()
            out.append((await inner, outer.cancelled()))
            lock = asyncio.Lock()
            await lock.acquire()
            waiter = asyncio.create_task(lock.acquire())
            await asyncio.sleep(0.001)
            waiter.cancel()
            await asyncio.sleep(0.001)
            out.append(("lock", waiter.cancelled(), lock.locked()))
            lock.release()
            q = asyncio.Queue(1)
            await q.put(1)
            put = asyncio.create_task(q.put(2))
            await asyncio.sleep(0.001)
            out.append((await q.get(), await q.get(), put.done()))
            done, pend = await asyncio.wait([asyncio.create_task(child(6)), asyncio.create_task(asyncio.sleep(1))],
                                            return_when=asyncio.FIRST_COMPLETED)
            out.append((len(done), len(pend)))
            for p in pend: p.cancel()
            async def canceller():
                t = asyncio.create_task(asyncio.sleep(5))
                try:
                    await t
                except asyncio.CancelledError:
                    return "cancelled inside"
            c = asyncio.create_task(canceller())
            await asyncio.sleep(0.001)
            c.cancel()
            out.append(await asyncio.gather(c, return_exceptions=True) != [None])
            return out
        async def main(on):
            if on: install()
            print(json.dumps(await scenario(), default=str))
        asyncio.run(main(sys.argv[2] == "on"))
    """

    def test_same_results(self):
        outs = []
        for mode in ("off", "on"):
            with tempfile.TemporaryDirectory() as tmp:
                p = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(self.BODY),
                                    os.path.join(tmp, "l"), mode], capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)
                outs.append(p.stdout)
        self.assertEqual(outs[0], outs[1])
        self.assertIn('"named"', outs[1])

    def test_task_names(self):
        recs, _, _ = run("""
            async def child(): await asyncio.sleep(0)
            async def main():
                install()
                await asyncio.create_task(child(), name="given")
                await asyncio.get_running_loop().create_task(child(), name="by-loop")
                await asyncio.create_task(child())
            asyncio.run(main())
        """)
        created = [r["task"] for r in recs if r.get("status") == "created"]
        self.assertEqual(created[:2], ["given", "by-loop"])
        self.assertTrue(created[2].startswith("Task-"), created)
        self.assertTrue(all(r.get("parent_id") == "Task-1" for r in recs if r.get("status") == "created"))

    @unittest.skipIf(sys.version_info < (3, 12), "eager tasks are 3.12+")
    def test_eager_tasks(self):
        recs, _, _ = run("""
            async def quick(): return 5
            async def main():
                asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
                install()
                t = asyncio.create_task(quick(), name="eager")
                assert t.done() and t.result() == 5   # ran eagerly, as without the module
            asyncio.run(main())
        """)
        self.assertIn({"created", "started", "done"}, [{r.get("status") for r in recs if r.get("task") == "eager"} - {None}])

    @unittest.skipIf(sys.version_info < (3, 12), "eager tasks are 3.12+")
    def test_eager_first_step_after_started(self):
        # The first step runs inside create_task(): its records still follow the task's started
        # record (which marks it traced), through a stream and through a logger.
        for sink in ("install()", "ca.install(logger=lg)"):
            recs, _, _ = run("""
                h = logging.FileHandler(LOG, mode="w"); h.setFormatter(logging.Formatter("%%(message)s"))
                lg = logging.getLogger("app"); lg.addHandler(h); lg.setLevel(logging.INFO)
                async def job(n):
                    stage("download complete")
                    inner = asyncio.create_task(asyncio.sleep(0), name="inner-%%d" %% n)
                    stage("got inner")
                    await inner
                    stage("parse")
                async def main():
                    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
                    %s
                    await asyncio.gather(*[asyncio.create_task(job(n), name="job-%%d" %% n) for n in range(3)])
                asyncio.run(main())
                h.flush()
            """ % sink)
            for n in range(3):
                mine = [r for r in recs if r.get("task") == "job-%d" % n]
                kinds = [r.get("status") or r.get("stage") for r in mine if "coroner" not in r or r.get("status")]
                self.assertEqual(kinds[:3], ["created", "started", "download complete"], (sink, mine))
                self.assertEqual(mine[1].get("coroner"), "task")
                names = [r.get("task") for r in recs]
                self.assertLess(names.index("job-%d" % n), names.index("inner-%d" % n))

    @unittest.skipIf(sys.version_info < (3, 12), "eager tasks are 3.12+")
    def test_eager_first_step_error_after_started(self):
        # An error record flushes the stream at once; one in an eager first step (a check that
        # fails before the task's first await) still follows the task's created and started
        # records, and the records the program wrote before it.
        recs, _, _ = run("""
            async def job(n):
                with stage("validate"):
                    if n == 1:
                        raise ValueError("bad order")
                await asyncio.sleep(0.01)
            async def main():
                asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
                install()
                stage("submitting")
                ts = [asyncio.create_task(job(n), name="job-%d" % n) for n in range(3)]
                await asyncio.gather(*ts, return_exceptions=True)
            asyncio.run(main())
        """)
        mine = [r.get("status") or r.get("stage") for r in recs if r.get("task") == "job-1"]
        self.assertEqual(mine, ["created", "started", "validate", "validate", "failed"])
        times = [float(r["ts"]) for r in recs if "ts" in r and r.get("coroner") != "exit"]
        self.assertEqual(times, sorted(times))
        self.assertEqual(recs[0].get("task"), "Task-1")


class Exit(unittest.TestCase):
    HANG = """
        async def stuck(ev): await ev.wait()
        async def main():
            install()
            ev = asyncio.Event()
            asyncio.create_task(stuck(ev), name="stuck")
            await asyncio.sleep(0.01)
            %s
        asyncio.run(main())
    """

    def check_exit(self, recs, reason, others=()):
        ex = [r for r in recs if r.get("coroner") == "exit"]
        self.assertEqual(len(ex), 1, recs[-5:])
        self.assertEqual(ex[0]["reason"], reason)
        self.assertNotIn("task", ex[0])
        pend = [r for r in recs if r.get("coroner") == "pending" and r["task"] == "stuck"]
        self.assertEqual(len(pend), 1)
        self.assertIn("in stuck", pend[0]["suspended_at"])
        self.assertIn("asyncio.Event created at", pend[0]["waiting_for"])
        i_pend = recs.index(pend[0])
        i_exit = recs.index(ex[0])
        cancelled = [i for i, r in enumerate(recs) if r.get("task") == "stuck" and r.get("status") == "cancelled"]
        self.assertTrue(i_pend < i_exit and (not cancelled or cancelled[0] > i_exit), recs[-6:])
        # asyncio.run's clean-up (shutdown_asyncgens, ...) is not the program's: no record of it,
        # however main ended (after sys.exit() it runs before the main task's end is heard)
        self.assertLessEqual({r["task"] for r in recs if "task" in r}, {"Task-1", "stuck", *others}, recs[-6:])
        return cancelled

    def test_main_returns(self):
        recs, _, _ = run(self.HANG % "return")
        self.assertTrue(self.check_exit(recs, "main returned"), "the cancellation is still logged")

    def test_a_task_asleep_at_exit_says_how_much_of_its_sleep_was_left(self):
        recs, _, _ = run("""
            async def sleeper(): await asyncio.sleep(30)
            async def zero():
                while True: await asyncio.sleep(0)
            async def main():
                install()
                asyncio.create_task(sleeper(), name="sleeper")
                asyncio.create_task(zero(), name="zero")
                await asyncio.sleep(0.05)
            asyncio.run(main())
        """)
        pend = {r["task"]: r["waiting_for"] for r in recs if r.get("coroner") == "pending"}
        m = re.fullmatch(r"asyncio\.sleep of 30 s, (\S+) s left", pend["sleeper"])
        self.assertTrue(m, pend)
        self.assertTrue(29 < float(m.group(1)) < 30, pend)
        # sleep(0) has no length: the plain words, or (caught between two sleeps) ready to run.
        self.assertIn(pend["zero"], ("asyncio.sleep", "nothing: ready to run"))

    def test_cancellations_reach_a_stream_closed_after_run(self):
        # `with open(...) as f: asyncio.run(main(f))`: the file closes as soon as asyncio.run has
        # cancelled the pending tasks; their cancellations must be in it all the same.
        recs, _, _ = run("""
            async def stuck(ev): await ev.wait()
            async def main(f):
                ca.install(stream=f)
                KEEP.append(asyncio.create_task(stuck(asyncio.Event()), name="stuck"))
                await asyncio.sleep(0.01)
            with open(LOG, "w") as f:
                asyncio.run(main(f))
        """)
        self.assertTrue(self.check_exit(recs, "main returned"), "the cancellation is logged")

    def test_unhandled_exception(self):
        recs, _, err = run(self.HANG % "raise ValueError('x')", expect_rc=1)
        self.check_exit(recs, "unhandled ValueError")
        self.assertIn("ValueError", err)

    def test_sys_exit(self):
        recs, _, _ = run(self.HANG % "sys.exit(3)", expect_rc=3)
        self.check_exit(recs, "sys.exit(3)")

    def test_sys_exit_with_nothing_pending_logs_no_clean_up_task(self):
        # Nothing left to cancel: asyncio.run makes its shutdown_asyncgens task before the main
        # task's end is heard, and it must not read as a task of the program in flight.
        recs, _, _ = run("""
            async def main():
                install()
                await asyncio.sleep(0.01)
                sys.exit(3)
            asyncio.run(main())
        """, expect_rc=3)
        self.assertEqual({r["task"] for r in recs if "task" in r}, {"Task-1"}, recs[-4:])
        self.assertEqual([r["reason"] for r in recs if r.get("coroner") == "exit"], ["sys.exit(3)"])

    def test_threads_each_with_asyncio_run_exit_once_when_the_last_ends(self):
        # A worker per thread, each its own loop: the first main to return is not the process's
        # end. Before, its exit record judged every other thread's task at that moment.
        recs, _, _ = run("""
            import threading
            async def stuck(ev): await ev.wait()
            async def shard(name, seconds):
                install()
                KEEP.append(asyncio.create_task(stuck(asyncio.Event()), name="stuck-" + name))
                await asyncio.sleep(seconds)
            threads = [threading.Thread(target=asyncio.run, args=(shard(n, s),))
                       for n, s in (("a", 0.01), ("b", 0.2))]
            for t in threads: t.start()
            for t in threads: t.join()
        """)
        exits = [i for i, r in enumerate(recs) if r.get("coroner") == "exit"]
        self.assertEqual(len(exits), 1, recs)
        # After shard a's end (its stuck task cancelled by its asyncio.run), before shard b's.
        ends = {r["task"]: i for i, r in enumerate(recs) if r.get("status") == "cancelled"}
        self.assertLess(ends["stuck-a"], exits[0], recs)
        self.assertGreater(ends["stuck-b"], exits[0], recs)
        pending = [r["task"] for r in recs if r.get("coroner") == "pending"]
        self.assertEqual(pending, ["stuck-b"], recs)

    def test_a_daemon_threads_loop_holds_up_no_exit(self):
        # A helper loop running for ever on a daemon thread ends no process: the program's own
        # main returning is the stop, with its stuck task pending at it.
        recs, _, _ = run("""
            import threading, time
            async def beat():
                install()
                while True: await asyncio.sleep(0.01)
            threading.Thread(target=asyncio.run, args=(beat(),), daemon=True).start()
            time.sleep(0.05)
            async def stuck(ev): await ev.wait()
            async def main():
                install()
                KEEP.append(asyncio.create_task(stuck(asyncio.Event()), name="stuck"))
                await asyncio.sleep(0.05)
            asyncio.run(main())
            time.sleep(0.2)
        """)
        self.assertEqual([r["reason"] for r in recs if r.get("coroner") == "exit"], ["main returned"])
        self.assertIn("stuck", [r["task"] for r in recs if r.get("coroner") == "pending"])

    def test_closing_an_async_generator_left_open_logs_no_clean_up_task(self):
        # A consumer that breaks out of `async for` leaves its generator open (still referenced
        # when main returns): shutdown_asyncgens gathers an aclose() of it in a task of its own,
        # and neither task, nor the gather's wait, is the program's.
        recs, _, _ = run("""
            kept = []
            async def events():
                try:
                    for i in range(10):
                        yield i
                        await asyncio.sleep(0)
                finally:
                    await asyncio.sleep(0.001)
            async def consume():
                kept.append(events())
                async for e in kept[0]:
                    if e == 2: break
            async def main():
                install()
                await asyncio.create_task(consume(), name="consumer")
            asyncio.run(main())
        """)
        self.assertEqual({r["task"] for r in recs if "task" in r}, {"Task-1", "consumer"}, recs[-4:])
        self.assertFalse([r for r in recs if r.get("coroner") == "wait" and r["task"] != "Task-1"],
                         recs[-4:])
        # Dropped by main itself: the loop's finalizer makes a task of its aclose(), cancelled
        # by asyncio.run before it ends; not the program's either.
        recs, _, _ = run("""
            async def events():
                try:
                    for i in range(10):
                        yield i
                        await asyncio.sleep(0)
                finally:
                    await asyncio.sleep(0.01)
            async def main():
                install()
                async for e in events():
                    if e == 2: break
            asyncio.run(main())
        """)
        self.assertEqual({r["task"] for r in recs if "task" in r}, {"Task-1"}, recs[-4:])

    def test_sigterm(self):
        recs, rc, _ = run(self.HANG % "print('ready', flush=True); await asyncio.sleep(30)",
                          expect_rc=-signal.SIGTERM, sig=signal.SIGTERM)
        self.check_exit(recs, "SIGTERM")

    # main leaves stubborn, which swallows asyncio.run's cancellation and waits on its queue
    # again, and polite, asleep (cancelled by main itself with `%s` = p.cancel()); "ready" comes
    # 50 ms after main returned, while the clean-up hangs.
    STUBBORN = """
        async def stubborn(q):
            while True:
                try:
                    await q.get()
                except asyncio.CancelledError:
                    pass
        async def polite():
            await asyncio.sleep(30)
        async def main():
            install()
            KEEP.append(asyncio.create_task(stubborn(asyncio.Queue()), name="stubborn"))
            p = asyncio.create_task(polite(), name="polite")
            KEEP.append(p)
            await asyncio.sleep(0.01)
            %s
            threading.Timer(0.05, print, args=("ready",), kwargs={"flush": True}).start()
        asyncio.run(main())
    """

    def stopped_in_the_clean_up(self, main_does, sig, expect_rc, reason):
        """The records of STUBBORN stopped by sig: the exit of main's return, then the stop's,
        with stubborn alone written pending at it."""
        recs, _, _ = run(self.STUBBORN % main_does, expect_rc=expect_rc, sig=sig)
        exits = [i for i, r in enumerate(recs) if r.get("coroner") == "exit"]
        self.assertEqual([recs[i]["reason"] for i in exits], ["main returned", reason], recs[-5:])
        late = [r["task"] for r in recs[exits[0]:] if r.get("coroner") == "pending"]
        self.assertEqual(late, ["stubborn"], recs[exits[0]:])
        return recs

    def test_a_clean_up_that_hangs_after_main_returned_is_written_at_its_sigterm(self):
        # main returned (its exit written), and asyncio.run's cancellation of what is left never
        # ends: a task swallows it and waits again. The SIGTERM that ends the hang writes that
        # task pending and a second exit; a task that ended in the clean-up is not written.
        self.stopped_in_the_clean_up("pass", signal.SIGTERM, -signal.SIGTERM, "SIGTERM")

    def test_a_ctrl_c_that_ends_a_hung_clean_up_writes_it_too(self):
        # main's end put Python's SIGINT handler back: the KeyboardInterrupt comes out of
        # asyncio.run's cancellation of what is left, which the module wraps. Its records are
        # marked cancel-at-exit (asyncio.run's own), the task's own cancel() by main is not.
        recs = self.stopped_in_the_clean_up("p.cancel()", signal.SIGINT, None, "SIGINT")
        kinds = {r["task"]: r["coroner"] for r in recs if r.get("coroner", "").startswith("cancel")}
        self.assertEqual(kinds, {"polite": "cancel", "stubborn": "cancel-at-exit"})

    def test_a_second_sigterm_during_the_first_loses_nothing(self):
        # timeout(1) and systemd signal the process and its group: two SIGTERMs. The second
        # re-entered the handler while the first wrote, and the process died with nothing written.
        recs, _, _ = run("""
            async def main():
                install()
                ev = asyncio.Event()
                for i in range(3000):
                    KEEP.append(asyncio.create_task(ev.wait(), name="idle-%d" % i))
                KEEP.append(asyncio.create_task(ev.wait(), name="stuck"))
                await asyncio.sleep(0.1)
                print("ready", flush=True)
                await asyncio.sleep(30)
            asyncio.run(main())
        """, expect_rc=-signal.SIGTERM, sig=signal.SIGTERM, sig_again=0.003)
        self.assertEqual([r["reason"] for r in recs if r.get("coroner") == "exit"], ["SIGTERM"])
        self.assertEqual(sum(1 for r in recs if r.get("coroner") == "pending"), 3002)

    def test_sigterm_tells_a_failure_never_retrieved_that_asyncio_would_not(self):
        # A producer that failed, held in a variable, its consumer idle: killed by SIGTERM, the
        # process never collects it, so asyncio never says its exception was never retrieved.
        # The module says it before the exit record; not of a failure someone retrieved.
        recs, _, _ = run("""
            async def tail(): raise PermissionError("rotated")
            async def seen(): raise ValueError("handled")
            async def fetch(i):
                if i == 0: raise ConnectionError("refused")  # gather will hand it back
                await asyncio.sleep(30)
            async def collect():
                await asyncio.gather(*(asyncio.create_task(fetch(i), name="fetch-%d" % i)
                                       for i in range(3)), return_exceptions=True)
            async def main():
                install()
                t = asyncio.create_task(tail(), name="tailer")
                s = asyncio.create_task(seen(), name="seen")
                c = asyncio.create_task(collect(), name="collect")
                await asyncio.sleep(0.01)
                s.exception()  # retrieved
                print('ready', flush=True)
                await asyncio.sleep(30)
            asyncio.run(main())
        """, expect_rc=-signal.SIGTERM, sig=signal.SIGTERM)
        told = [r for r in recs if "never retrieved" in r.get("message", "")]
        self.assertEqual(len(told), 1, told)
        self.assertIn("name='tailer'", told[0]["message"])
        self.assertEqual(told[0]["error_type"], "PermissionError")
        exit_at = [i for i, r in enumerate(recs) if r.get("coroner") == "exit"]
        self.assertEqual(len(exit_at), 1)
        self.assertLess(recs.index(told[0]), exit_at[0])

    @unittest.skipIf(sys.version_info < (3, 11), "asyncio.Runner is 3.11+")
    def test_a_runner_run_again_is_traced_and_its_exit_is_at_close(self):
        # One loop, three runs: the end of the first run's main is no stop. Before, the exit was
        # written there and the tasks of the later runs had no created, started or done record.
        recs, _, _ = run("""
            async def stuck(ev): await ev.wait()
            async def first():
                install()
                await asyncio.create_task(asyncio.sleep(0.01), name="early")
            async def second():
                await asyncio.create_task(asyncio.sleep(0.01), name="late")
                KEEP.append(asyncio.create_task(stuck(asyncio.Event()), name="stuck"))
                await asyncio.sleep(0.01)
            with asyncio.Runner() as runner:
                runner.run(first())
                runner.run(second())
                runner.run(asyncio.sleep(0.01))
        """)
        status = {}
        for r in recs:
            if "status" in r:
                status.setdefault(r["task"], []).append(r["status"])
        self.assertEqual(status["late"], ["created", "started", "done"], recs)
        self.assertEqual(len([t for t, s in status.items() if s[:2] == ["created", "started"]]), 5, status)
        self.check_one_exit_at_the_end(recs, "main returned")
        self.assertEqual(status["stuck"][-1], "cancelled", "the cancellation is still logged")

    def test_a_legacy_loop_run_again_is_traced_and_its_exit_is_at_close(self):
        # new_event_loop, run_until_complete twice, close: the exit comes at close(), with the
        # task nobody cancelled pending at it; the second run's tasks are traced.
        recs, _, _ = run("""
            async def stuck(ev): await ev.wait()
            async def first():
                install()
                KEEP.append(asyncio.create_task(stuck(asyncio.Event()), name="stuck"))
                await asyncio.sleep(0.01)
            async def second():
                await asyncio.create_task(asyncio.sleep(0.01), name="late")
            loop = asyncio.new_event_loop()
            loop.run_until_complete(first())
            loop.run_until_complete(second())
            loop.close()
        """)
        mine = [r.get("status") for r in recs if r.get("task") == "late"]
        self.assertEqual(mine, ["created", "started", "done"], recs)
        self.check_one_exit_at_the_end(recs, "loop closed")
        self.assertNotIn("cancelled", [r.get("status") for r in recs], "nobody cancelled it")

    def check_one_exit_at_the_end(self, recs, reason):
        """One exit, after every record of the program's runs, "stuck" pending at it."""
        exits = [i for i, r in enumerate(recs) if r.get("coroner") == "exit"]
        self.assertEqual([recs[i]["reason"] for i in exits], [reason], recs[-6:])
        pend = [i for i, r in enumerate(recs) if r.get("coroner") == "pending"]
        self.assertEqual([recs[i]["task"] for i in pend], ["stuck"], recs[-6:])
        self.assertEqual(pend[0], exits[0] - 1, recs[-6:])
        after = [r for r in recs[exits[0]:] if r.get("status") not in (None, "cancelled")
                 and r.get("coroner") not in ("cancel", "exit") and "message" not in r]
        self.assertFalse(after, "records of the runs after the exit")

    def test_sigint(self):
        recs, rc, _ = run(self.HANG % "print('ready', flush=True); await asyncio.sleep(30)",
                          expect_rc=None, sig=signal.SIGINT)
        self.assertIn(rc, (1, -signal.SIGINT, 130))  # KeyboardInterrupt, as without the module
        self.check_exit(recs, "SIGINT")

    @unittest.skipIf(sys.version_info < (3, 11), "asyncio.run cancels main at SIGINT from 3.11")
    def test_a_graceful_shutdown_after_sigint_is_before_the_exit(self):
        # Ctrl-C cancels main, which goes on to shut down: its records are the program's, and the
        # exit is written when main ends (or at the SIGTERM that kills a shutdown that hangs).
        shutdown = '''
            print('ready', flush=True)
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                stage("graceful shutdown")
                %s
                raise
        '''
        recs, _, _ = run(self.HANG % textwrap.indent(textwrap.dedent(
            shutdown % "await asyncio.sleep(0.05)"), " " * 12).strip(),
            expect_rc=None, sig=signal.SIGINT)
        self.check_exit(recs, "SIGINT")
        stages = [i for i, r in enumerate(recs) if r.get("stage") == "graceful shutdown"]
        exits = [i for i, r in enumerate(recs) if r.get("coroner") == "exit"]
        self.assertTrue(stages and stages[0] < exits[0], recs[-6:])
        # The shutdown hangs on the stuck task; the supervisor's SIGTERM ends it: main is pending.
        hang = "threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start(); await stuck_task"
        body = self.HANG.replace('asyncio.create_task(stuck(ev), name="stuck")',
                                 'stuck_task = asyncio.create_task(stuck(ev), name="stuck")')
        recs, rc, _ = run(body % textwrap.indent(textwrap.dedent(shutdown % hang),
                                                 " " * 12).strip(),
                          expect_rc=-signal.SIGTERM, sig=signal.SIGINT)
        self.check_exit(recs, "SIGTERM")
        main = [r for r in recs if r.get("coroner") == "pending" and r["task"] == "Task-1"]
        self.assertEqual(len(main), 1, recs[-6:])
        self.assertIn("stuck", main[0].get("awaits", []))

    def test_the_task_running_when_a_signal_stops_the_process_holds_the_loop(self):
        # A task blocks the loop in a synchronous call of a coroutine it awaits; a SIGTERM comes
        # from the test, or from a thread: that task is running, at the line of the call. A task
        # only ready to run says so; one that sends its own process the signal (a watchdog task)
        # stopped it itself, as with os._exit(), and is not holding the loop.
        body = """
            HOW = %r
            async def stuck(ev): await ev.wait()
            async def later(): await asyncio.sleep(0)
            async def inner():
                threading.Timer(0.1, print, ("ready",), {"flush": True}).start()  # once asleep
                time.sleep(3)
            async def blocker():
                await asyncio.sleep(0.01)
                with stage("enrich"):
                    asyncio.create_task(later(), name="ready")  # never runs: the loop is held
                    if HOW == "thread":
                        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
                    elif HOW == "itself":
                        os.kill(os.getpid(), signal.SIGTERM)
                    await inner()
            async def main():
                install()
                KEEP.append(asyncio.create_task(stuck(asyncio.Event()), name="stuck"))
                await asyncio.create_task(blocker(), name="blocker")
            asyncio.run(main())
        """
        for how in ("test", "thread", "itself"):
            recs, _, _ = run(body % how, expect_rc=-signal.SIGTERM,
                             sig=signal.SIGTERM if how == "test" else None)
            self.check_exit(recs, "SIGTERM", others=["blocker", "ready"])
            pend = {r["task"]: r for r in recs if r.get("coroner") == "pending"}
            self.assertEqual(pend["ready"]["waiting_for"], "nothing: ready to run", how)
            self.assertEqual(pend["Task-1"]["waiting_for"], "task blocker", how)
            if how == "itself":
                self.assertEqual(pend["blocker"]["waiting_for"], "nothing: ready to run")
                self.assertEqual(pend["blocker"]["suspended_at"],
                                 "<string>:%d in blocker" % line_of(body, "os.kill(os.getpid()"))
            else:
                self.assertEqual(pend["blocker"]["waiting_for"], "nothing: running, it holds the loop", how)
                self.assertEqual(pend["blocker"]["suspended_at"],
                                 "<string>:%d in inner" % line_of(body, "time.sleep(3)"), how)

    def test_os_exit_writes_the_pending_tasks_and_the_exit(self):
        # os._exit() skips atexit: before, nothing was written at it, and a task the program
        # left stuck read as in flight. After run_until_complete returned, with no close():
        recs, _, _ = run("""
            async def stuck(ev): await ev.wait()
            async def main():
                install()
                KEEP.append(asyncio.create_task(stuck(asyncio.Event()), name="stuck"))
                await asyncio.sleep(0.01)
            asyncio.new_event_loop().run_until_complete(main())
            os._exit(0)
        """)
        self.check_exit(recs, "os._exit(0)")
        # From a task, right after it logged an error (a worker that gives up the process): the
        # caller is pending, ready to run; from another thread while the task blocks the loop
        # (time.sleep): the task is running, it holds the loop.
        for where in ("worker", "thread"):
            recs, _, _ = run("""
                async def stuck(ev): await ev.wait()
                async def worker(where):
                    await asyncio.sleep(0.01)
                    try:
                        with stage("charge"):
                            raise ConnectionError("card processor gone")
                    except ConnectionError:
                        if where == "worker":
                            os._exit(3)
                        threading.Thread(target=os._exit, args=(3,)).start()
                        time.sleep(5)
                async def main():
                    install()
                    KEEP.append(asyncio.create_task(stuck(asyncio.Event()), name="stuck"))
                    await asyncio.create_task(worker(%r), name="worker")
                asyncio.run(main())
            """ % where, expect_rc=3)
            self.check_exit(recs, "os._exit(3)", others=["worker"])
            err = [i for i, r in enumerate(recs) if r.get("task") == "worker" and r.get("level") == "error"]
            pend = {r["task"]: (i, r) for i, r in enumerate(recs) if r.get("coroner") == "pending"}
            self.assertEqual(sorted(pend), ["Task-1", "stuck", "worker"], recs[-6:])
            self.assertEqual(pend["worker"][1]["waiting_for"], {
                "worker": "nothing: ready to run", "thread": "nothing: running, it holds the loop"}[where])
            self.assertIn("task worker", pend["Task-1"][1]["waiting_for"], where)
            self.assertTrue(err and err[0] < pend["worker"][0], recs[-6:])

class Flushing(unittest.TestCase):
    """The stream sink's lines are written within 100 ms by the flusher thread, whatever the
    loop does."""

    def test_a_blocked_loop_loses_no_record_to_a_sigkill(self):
        # Before, the 100 ms flush was a timer of the loop: blocked, it wrote nothing, and a
        # SIGKILL lost the stage the task was stuck in (and all since the last flush).
        recs, _, _ = run("""
            async def blocker():
                await asyncio.sleep(0.01)
                stage("enrich")
                print("ready", flush=True)
                time.sleep(2)  # the loop's timers wait for this
            async def main():
                install()
                await asyncio.create_task(blocker(), name="blocker")
            asyncio.run(main())
        """, expect_rc=-signal.SIGKILL, sig=signal.SIGKILL, sig_after=1)
        mine = [r.get("status") or r.get("stage") for r in recs if r.get("task") == "blocker"]
        self.assertEqual(mine, ["created", "started", "enrich"], recs)

    def test_the_flusher_is_a_daemon_thread_of_a_stream_sink_only(self):
        # Nothing started by importing the module or by a logger sink; a stream sink's flusher
        # keeps no interpreter alive (run() would time out).
        recs, _, _ = run("""
            def others():
                return [(t.name, t.daemon) for t in threading.enumerate() if t is not threading.main_thread()]
            async def main():
                stage("not installed")
                seen = {"imported": others()}
                ca.install(logger="quiet")
                seen["logger"] = others()
                install()
                seen["stream"] = others()
                emit({"stage": "threads", "seen": seen})
            asyncio.run(main())
        """)
        (seen,) = [r["seen"] for r in recs if r.get("stage") == "threads"]
        self.assertEqual(seen, {"imported": [], "logger": [], "stream": [["coroner-flush", True]]})

    def test_tasks_created_while_the_flusher_writes_keep_their_names(self):
        # One step creating named tasks for longer than 100 ms: the flusher writes meanwhile,
        # and must not write a task's created record between the factory and create_task()'s
        # set_name() (before 3.14), under asyncio's default name.
        recs, _, _ = run("""
            async def job(): pass
            async def main():
                install()
                for k in range(2):
                    await asyncio.gather(*[asyncio.create_task(job(), name="job-%d-%d" % (k, i))
                                           for i in range(30000)])
            asyncio.run(main())
        """)
        created = [r["task"] for r in recs if r.get("status") == "created"]
        self.assertEqual(len(created), 60000)
        self.assertEqual([t for t in created if not t.startswith("job-")], [])

    def test_a_writer_stuck_on_a_full_pipe_holds_up_a_stop_a_second_at_most(self):
        # The flusher blocks writing to a pipe nobody reads, holding the sink's lock; the loop
        # then waits for it. A SIGTERM still kills the process, an os._exit() still exits.
        for how, rc in (("SIGTERM", -signal.SIGTERM), ("os._exit", 3)):
            src = PRELUDE + textwrap.dedent("""
                HOW = %r
                async def main():
                    r, w = os.pipe()
                    ca.install(stream=os.fdopen(w, "w"))
                    if HOW == "os._exit":
                        threading.Timer(0.5, os._exit, (3,)).start()
                    else:
                        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
                    for i in range(100000):
                        stage("fill", pad="x" * 1000)
                        await asyncio.sleep(0.001)
                asyncio.run(main())
            """ % how)
            start = time.monotonic()
            p = subprocess.Popen([sys.executable, "-c", src, os.devnull], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            try:
                p.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                self.fail("%s: the process hung on its stuck sink" % how)
            self.assertEqual(p.returncode, rc, how)
            self.assertLess(time.monotonic() - start, 10, how)


@unittest.skipUnless(hasattr(os, "fork"), "no fork")
class ForkedChildren(unittest.TestCase):
    """A forked child (a process pool's worker) holds copies of its parent's loops and tasks:
    whatever ends it, it writes nothing of them, and the parent's records are whole."""

    def parents(self, recs, reason):
        """The parent's pid (its stuck task's), after checking its exit and stuck task."""
        pid = [r["pid"] for r in recs if r.get("task") == "stuck"][0]
        mine = [r for r in recs if r["pid"] == pid]
        self.assertEqual([r["reason"] for r in mine if r.get("coroner") == "exit"], [reason], recs[-6:])
        self.assertEqual([r["task"] for r in mine if r.get("coroner") == "pending"], ["stuck"], recs[-6:])
        return pid

    def test_a_forked_child_writes_nothing_of_its_parents_tasks(self):
        # Forked in a task, ended by os._exit (as multiprocessing ends its children), by a
        # SIGTERM, by a SIGINT, or (forked outside the loop) by the interpreter's exit; or a
        # child that runs and installs a loop of its own: traced as its own process.
        body = """
            HOW = %r
            async def stuck(ev): await ev.wait()
            async def child_main():
                ca.install(stream=open(LOG, "a"))
                KEEP.append(asyncio.create_task(stuck(asyncio.Event()), name="child-stuck"))
                await asyncio.sleep(0.01)
            def fork_child():
                pid = os.fork()
                if pid:
                    os.waitpid(pid, 0)
                    return
                emit({"stage": "in child", "threads": threading.active_count()})
                if HOW == "os._exit":
                    os._exit(0)
                elif HOW == "SIGTERM":
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(5)
                elif HOW == "SIGINT":
                    try:
                        os.kill(os.getpid(), signal.SIGINT)
                        time.sleep(5)
                    except KeyboardInterrupt:
                        os._exit(0)
                elif HOW == "install":
                    asyncio.run(child_main())
                sys.exit(0)
            async def main():
                ca.install(stream=open(LOG, "a"))
                KEEP.append(asyncio.create_task(stuck(asyncio.Event()), name="stuck"))
                await asyncio.sleep(0.01)
                if HOW in ("os._exit", "SIGTERM", "SIGINT"):
                    fork_child()
            loop = asyncio.new_event_loop()
            loop.run_until_complete(main())
            if HOW in ("exit", "install"):
                fork_child()
            loop.close()
        """
        for how in ("os._exit", "SIGTERM", "SIGINT", "exit", "install"):
            recs, _, _ = run(body % how)
            pid = self.parents(recs, "loop closed")
            child = [r for r in recs if r.get("pid") != pid]
            self.assertEqual(child[0].get("stage"), "in child", (how, child))
            self.assertEqual(child[0]["threads"], 1, "a thread of the parent's in the child")
            self.assertFalse([r for r in child if r.get("task") == "stuck"
                              or "name='stuck'" in r.get("message", "")], (how, child))
            if how != "install":
                self.assertEqual(len(child), 1, (how, child))
                continue
            exits = [r["reason"] for r in child if r.get("coroner") == "exit"]
            pend = [r["task"] for r in child if r.get("coroner") == "pending"]
            self.assertEqual((exits, pend), (["main returned"], ["child-stuck"]), child)

    def test_process_pool_workers_write_nothing_of_their_parents_tasks(self):
        # Fork-started workers: one pool shut down as usual (its worker ends with os._exit), one
        # whose worker is killed by SIGTERM (the pool breaks, the parent goes on).
        recs, _, _ = run("""
            import concurrent.futures as cf, multiprocessing
            def work(seconds):
                time.sleep(seconds)
                return os.getpid()
            async def stuck(ev): await ev.wait()
            async def main():
                install()
                KEEP.append(asyncio.create_task(stuck(asyncio.Event()), name="stuck"))
                loop = asyncio.get_running_loop()
                fork = multiprocessing.get_context("fork")
                with cf.ProcessPoolExecutor(1, mp_context=fork) as pool:
                    with stage("normal"):
                        await loop.run_in_executor(pool, work, 0)
                pool = cf.ProcessPoolExecutor(1, mp_context=fork)
                with stage("killed"):
                    worker = await loop.run_in_executor(pool, work, 0)
                    job = loop.run_in_executor(pool, work, 30)
                    await asyncio.sleep(0.2)
                    os.kill(worker, signal.SIGTERM)
                    try:
                        await job
                    except cf.process.BrokenProcessPool:
                        stage("pool broke")
                pool.shutdown()
            asyncio.run(main())
        """)
        pid = self.parents(recs, "main returned")
        self.assertEqual([r for r in recs if r.get("pid") != pid], [])
        self.assertIn("pool broke", [r.get("stage") for r in recs])


class Misc(unittest.TestCase):
    def test_a_stream_given_as_the_loop_is_told_plainly(self):
        _, rc, err = run("""
            async def main():
                ca.install(open(LOG, "w"))
            asyncio.run(main())
        """, expect_rc=1)
        self.assertIn("install(stream=...)", err)

    def test_as_completed_queue_is_no_wait_for_work(self):
        # as_completed waits on a queue of asyncio's own: the module names the as_completed
        # wait, never a queue the task would be idle on.
        recs, _, _ = run("""
            async def job(): await asyncio.sleep(0.01)
            async def main():
                install()
                jobs = [asyncio.create_task(job()) for _ in range(2)]
                for fut in asyncio.as_completed(jobs):
                    await fut
            asyncio.run(main())
        """)
        texts = [w["waiting_for"] for w in waits(recs)]
        self.assertIn("as_completed", texts)
        self.assertFalse([t for t in texts if ".get" in t], texts)

    def test_exception_handler_messages(self):
        recs, _, err = run("""
            async def bad(): raise ValueError("lost")
            async def main():
                install()
                asyncio.create_task(bad(), name="fire-and-forget")
                await asyncio.sleep(0.01)
                import gc; gc.collect()
                await asyncio.sleep(0.01)
            asyncio.run(main())
        """)
        msgs = [r for r in recs if "message" in r]
        self.assertTrue(msgs, recs)
        m = msgs[0]
        self.assertTrue(m["message"].startswith("Task exception was never retrieved"), m)
        self.assertIn("name='fire-and-forget'", m["message"])
        self.assertEqual((m["level"], m["error_type"]), ("error", "ValueError"))
        self.assertNotIn("task", m)
        self.assertIn("Task exception was never retrieved", err)  # the default handler still prints

    def test_a_dropped_loops_destroyed_task_is_told(self):
        # The loop closed with a task pending, dropped, collected with its task: the same
        # garbage collection that says "Task was destroyed" has already let go of the loop.
        recs, _, _ = run("""
            import gc
            async def waits(f): await f
            async def main():
                install()
                asyncio.create_task(waits(asyncio.get_running_loop().create_future()), name="dropped")
                await asyncio.sleep(0.01)
            loop = asyncio.new_event_loop()
            loop.run_until_complete(main())
            loop.close()
            del loop
            gc.collect()
        """)
        told = [r["message"] for r in recs if "message" in r]
        self.assertTrue(told and told[0].startswith("Task was destroyed but it is pending!"), recs[-4:])
        self.assertIn("name='dropped'", told[0])

    def test_a_task_collected_while_its_loop_runs_gets_no_made_up_end(self):
        # A consumer nobody keeps a reference to, collected while main's loop still runs: asyncio
        # says it destroyed it. The module wrote it pending then (no stop), and asyncio.run, which
        # found it alive again, cancelled it into "cannot reuse already awaited coroutine",
        # written as the task's failure. Now only asyncio's message tells of it.
        recs, _, _ = run("""
            import gc
            async def consumer(q):
                while True:
                    await q.get()
            async def main():
                install()
                asyncio.create_task(consumer(asyncio.Queue()), name="consumer")  # no reference
                await asyncio.sleep(0.3)  # (the module's buffer let go of the task: flushed)
                asyncio.current_task().add_done_callback(lambda t: gc.collect())
            asyncio.run(main())
        """)
        told = [r["message"] for r in recs if "message" in r]
        self.assertTrue(told and told[0].startswith("Task was destroyed but it is pending!"), recs[-4:])
        mine = [r for r in recs if r.get("task") == "consumer"]
        self.assertFalse([r for r in mine if r.get("coroner") == "pending" or "error" in r], mine)

    def test_app_handler_still_called(self):
        _, _, err = run("""
            async def bad(): raise ValueError("lost")
            async def main():
                asyncio.get_running_loop().set_exception_handler(lambda l, c: print("APP", c["message"], file=sys.stderr))
                install()
                asyncio.create_task(bad())
                await asyncio.sleep(0.01)
                import gc; gc.collect()
            asyncio.run(main())
        """)
        self.assertIn("APP Task exception was never retrieved", err)

    def test_adoption(self):
        recs, _, _ = run("""
            async def early(): await asyncio.sleep(0.01)
            async def main():
                t = asyncio.create_task(early(), name="early")
                await asyncio.sleep(0)
                install()
                await t
            asyncio.run(main())
        """)
        early = [r for r in recs if r.get("task") == "early"]
        self.assertEqual(early[0].get("adopted"), True)
        self.assertEqual(early[0]["status"], "started")
        self.assertEqual(early[-1]["status"], "done")
        self.assertTrue(any(r.get("task") == "Task-1" and r.get("adopted") for r in recs))

    def test_logging_sink_handler_only(self):
        recs, _, _ = run("""
            h = logging.FileHandler(LOG, mode="w"); h.setFormatter(logging.Formatter("%(message)s"))
            logging.getLogger("coroner").addHandler(h)
            async def job():
                stage("a"); await asyncio.sleep(0)
            async def main():
                ca.install()
                await asyncio.gather(job(), job())
            asyncio.run(main())
            h.flush()
        """)
        statuses = [r.get("status") for r in recs]
        self.assertEqual(statuses.count("created"), 2)
        self.assertEqual(statuses.count("done"), 3)  # two jobs and main
        self.assertEqual(sum(1 for r in recs if r.get("stage") == "a"), 2)

    def test_user_fields_nested(self):
        recs, _, _ = run("""
            async def main():
                install()
                stage("ship", worker=3, task="nope", pid=1)
                try:
                    with stage("parse", row=1):
                        raise KeyError("k")
                except KeyError:
                    pass
                emit({"raw": 1})
            asyncio.run(main())
        """)
        ship = [r for r in recs if r.get("stage") == "ship"][0]
        self.assertEqual(ship["data"], {"worker": 3, "task": "nope", "pid": 1})
        self.assertEqual(ship["task"], "Task-1")
        self.assertNotIn("worker", ship)
        self.assertNotEqual(ship["pid"], 1)
        err = [r for r in recs if r.get("stage") == "parse" and r.get("level") == "error"][0]
        self.assertEqual(err["error_type"], "KeyError")
        self.assertEqual([r for r in recs if "raw" in r][0]["raw"], 1)

    def test_attempt_numbers_reach_the_attempt_role(self):
        # stage("pull", attempt=n) in a retry loop: the number is also at the top level, where
        # coroner reads the try's number; other names of the role are ambiguous and stay nested.
        recs, _, _ = run("""
            async def main():
                install()
                stage("pull", attempt=2)
                stage("push", attempt_number=3, retries=5)
                stage("odd", attempt="2", retry=True)
                stage("flag", attempt=True)
            asyncio.run(main())
        """)
        by = {r["stage"]: r for r in recs if "stage" in r}
        self.assertEqual((by["pull"]["attempt"], by["pull"]["data"]), (2, {"attempt": 2}))
        self.assertEqual(by["push"]["attempt_number"], 3)
        self.assertNotIn("retries", by["push"])
        self.assertNotIn("attempt", by["odd"])
        self.assertNotIn("retry", by["odd"])
        self.assertNotIn("attempt", by["flag"])

    def test_a_field_called_name_after_the_stages_name(self):
        # stage("load", name=path): the field is the caller's, nested under data; alone,
        # stage(name="load") names the stage, as it always did. A timeout= stays nested: a
        # `with` block writes no end, so a step's declared timeout would run past the block.
        recs, _, _ = run("""
            async def main():
                install()
                stage("load", name="users.csv", timeout=5)
                stage(name="save")
                try:
                    stage()
                except TypeError as e:
                    emit({"raised": str(e)})
            asyncio.run(main())
        """)
        by = {r["stage"]: r for r in recs if "stage" in r}
        self.assertEqual(by["load"]["data"], {"name": "users.csv", "timeout": 5})
        self.assertNotIn("timeout", by["load"])
        self.assertNotIn("data", by["save"])
        self.assertIn("stage(name, **fields)", [r for r in recs if "raised" in r][0]["raised"])

    def test_names_escaped_on_the_fast_paths(self):
        # Stage and task names reach the records through hand-made JSON (the hot paths): every
        # name must come back exactly, whatever it holds, and every timestamp be seconds with
        # six decimals.
        names = ['plain', 'say "hi"', 'back\\slash', 'tab\there\nnew\x01\x1f', 'caf\u00e9 \u4e2d',
                 'lone \ud800 surrogate', '\U0001F600']
        recs, _, _ = run("""
            NAMES = %r
            async def job(name):
                stage(name)
                await asyncio.sleep(0)
                stage(name)
            async def main():
                install()
                await asyncio.gather(*[asyncio.create_task(job(n), name=n) for n in NAMES])
            asyncio.run(main())
        """ % (names,))
        for name in names:
            mine = [r for r in recs if r.get("task") == name]
            self.assertEqual([r.get("status") for r in mine if "status" in r], ["created", "started", "done"], name)
            self.assertEqual([r["stage"] for r in mine if "stage" in r], [name, name])
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "log.jsonl")
            src = PRELUDE + textwrap.dedent("""
                async def main():
                    install()
                    stage("x")
                    await asyncio.create_task(asyncio.sleep(0))
                asyncio.run(main())
            """)
            subprocess.run([sys.executable, "-c", src, log], check=True, timeout=60)
            with open(log) as f:
                text = f.read()
        stamps = re.findall(r'"ts": ([^,}]*)', text)
        self.assertTrue(stamps)
        for ts in stamps:
            self.assertRegex(ts, r"^[0-9]{10}\.[0-9]{6}$")
            self.assertLess(abs(float(ts) - time.time()), 120)

    def test_timestamps_follow_the_clock(self):
        # The text of the current second is kept between records: each record must still carry
        # its own moment, truncated to the microsecond, across a second's end and when the wall
        # clock steps back (NTP). The clock is faked at the module's one source, time_ns.
        clock = [1764059000999999999, 1764059001000000000, 1764059001000123456,
                 1764058999500000999, 1764059000000000000, 1764059002123456789]
        recs, _, _ = run("""
            CLOCK = %r
            async def main():
                install()
                real = ca._ns
                for ns in CLOCK:
                    ca._ns = lambda ns=ns: ns
                    stage("tick")
                ca._ns = real
            asyncio.run(main())
        """ % (clock,))
        got = [r["ts"] for r in recs if r.get("stage") == "tick"]
        want = [float("%d.%06d" % (ns // 10**9, ns // 1000 % 10**6)) for ns in clock]
        self.assertEqual(got, want)

    def test_renamed_task_records_its_new_name(self):
        # A task's name is encoded once and kept while it lives: a task renamed after its
        # created record was written must log its next records under the new name.
        recs, _, _ = run("""
            async def child():
                await asyncio.sleep(0)
                ca.flush()  # the created record written: the first name is known
                stage("before")
                asyncio.current_task().set_name("renamed")
                stage("after")
            async def main():
                install()
                await asyncio.create_task(child(), name="first")
            asyncio.run(main())
        """)
        mine = [(r["task"], r.get("stage") or r.get("status")) for r in recs
                if r.get("task") in ("first", "renamed")]
        self.assertEqual(mine, [("first", "created"), ("first", "started"), ("first", "before"),
                                ("renamed", "after"), ("renamed", "done")])

    def test_a_name_the_program_gave_is_never_another_tasks_identity(self):
        # A shard the program named "ingest#2", and "ingest" restarted under its name: the
        # restart is the next number free, "ingest#3", or the two tasks' records would merge
        # (and the shard's hang read as a restart). A task the program names "x#2" after the
        # module wrote a restarted "x" so is "x#2#2".
        recs, _, _ = run("""
            async def job(tag):
                stage("work " + tag)
                await asyncio.sleep(0)
            async def main():
                install()
                await asyncio.create_task(job("shard"), name="ingest#2")
                await asyncio.create_task(job("first"), name="ingest")
                await asyncio.create_task(job("restart"), name="ingest")
                await asyncio.create_task(job("x1"), name="x")
                await asyncio.create_task(job("x2"), name="x")
                await asyncio.create_task(job("named"), name="x#2")
            asyncio.run(main())
        """)
        work = {r["stage"]: r["task"] for r in recs if r.get("stage", "").startswith("work ")}
        self.assertEqual(work, {"work shard": "ingest#2", "work first": "ingest",
                                "work restart": "ingest#3", "work x1": "x", "work x2": "x#2",
                                "work named": "x#2#2"})

    def test_importing_the_module_warns_of_nothing(self):
        # The type of an async generator's aclose() is learned from one made at import: left
        # unawaited, Python 3.13 warned of it whenever the collector ran.
        _, _, err = run("""
            import gc, warnings
            warnings.simplefilter("error")
            gc.collect()
            async def main():
                install()
            asyncio.run(main())
            gc.collect()
        """)
        self.assertNotIn("never awaited", err)

    def test_same_names_are_told_apart_in_every_record(self):
        # stage() and a task's end skip the identity lookup for a name no other task took: a
        # task must be counted when it is named, whether by create_task, by set_name later, or
        # past the point where names taken once are forgotten, or its records would merge.
        recs, _, _ = run("""
            async def job(tag):
                stage("work " + tag)
                await asyncio.sleep(0)
                stage("more " + tag)
            async def renamer():
                await asyncio.sleep(0)
                asyncio.current_task().set_name("dup")
                stage("renamed")
            async def main():
                install()
                ca._TAKEN_MAX = 4  # forget names taken once soon, keep the shared one
                first = asyncio.create_task(job("a"), name="dup")
                await asyncio.gather(first, asyncio.create_task(job("b"), name="dup"),
                                     asyncio.create_task(renamer()))
                for n in range(6):
                    await asyncio.create_task(job("x%d" % n), name="once-%d" % n)
                await asyncio.create_task(job("c"), name="dup")
            asyncio.run(main())
        """)
        by_task = {}
        for r in recs:
            what = r.get("stage") or r.get("status")
            if r.get("task", "").startswith("dup") and what:
                by_task.setdefault(r["task"], []).append(what)
        self.assertEqual(by_task["dup"], ["created", "started", "work a", "more a", "done"])
        self.assertEqual(by_task["dup#2"], ["created", "started", "work b", "more b", "done"])
        # (its created record is written at the next flush, under the name it has by then)
        self.assertEqual([w for w in by_task["dup#3"] if w not in ("created", "started")],
                         ["renamed", "done"])
        self.assertEqual(by_task["dup#4"], ["created", "started", "work c", "more c", "done"])

    def test_a_live_tasks_identity_survives_forgetting_the_names(self):
        # Past _TAKEN_MAX names _taken is made smaller; when the names two tasks took fill half
        # of it, they go too: a live "a#2" must still write as "a#2", not as the first "a".
        recs, _, _ = run("""
            async def job(tag, ev):
                stage("begin " + tag)
                await ev.wait()
                stage("end " + tag)
            async def quick():
                stage("q")
            async def main():
                install()
                ca._TAKEN_MAX = 4
                ev = asyncio.Event()
                a1 = asyncio.create_task(job("a1", ev), name="a")
                a2 = asyncio.create_task(job("a2", ev), name="a")
                await asyncio.create_task(quick(), name="b")
                await asyncio.create_task(quick(), name="b")  # shared names: half of 4
                for n in range(3):
                    await asyncio.create_task(quick(), name="once-%d" % n)
                ev.set()
                await asyncio.gather(a1, a2)
                await asyncio.create_task(quick(), name="a")  # counted on: "a#3"
            asyncio.run(main())
        """)
        by_task = {}
        for r in recs:
            what = r.get("stage") or r.get("status")
            if r.get("task", "").startswith("a") and what and r.get("coroner") != "wait":
                by_task.setdefault(r["task"], []).append(what)
        self.assertEqual(by_task["a"], ["created", "started", "begin a1", "end a1", "done"])
        self.assertEqual(by_task["a#2"], ["created", "started", "begin a2", "end a2", "done"])
        self.assertEqual(by_task["a#3"], ["created", "started", "q", "done"])

    def test_same_names_of_another_factorys_tasks_are_told_apart(self):
        # A task not of the module's class (the program's own task factory, chained; a Task
        # constructed directly) is named where the module does not see it: its records must
        # still count its name, or two such tasks of one name write their stages as one task.
        recs, _, _ = run("""
            class MyTask(asyncio.Task):
                pass
            async def job(tag):
                stage("work " + tag)
                await asyncio.sleep(0.01)
            async def main():
                asyncio.get_running_loop().set_task_factory(
                    lambda loop, coro, **kw: MyTask(coro, loop=loop, **kw))
                install()
                asyncio.create_task(job("a"), name="mine")
                asyncio.create_task(job("b"), name="mine")
                asyncio.Task(job("c"), name="direct")
                asyncio.Task(job("d"), name="direct")
                await asyncio.sleep(0.05)  # (no wait record names them first)
            asyncio.run(main())
        """)
        by_task = {}
        for r in recs:
            what = r.get("stage") or r.get("status")
            if r.get("task", "").startswith(("mine", "direct")) and what:
                by_task.setdefault(r["task"], []).append(what)
        self.assertEqual(by_task["mine"], ["created", "started", "work a", "done"])
        self.assertEqual(by_task["mine#2"], ["created", "started", "work b", "done"])
        self.assertEqual(by_task["direct"], ["work c"])
        self.assertEqual(by_task["direct#2"], ["work d"])

    def test_loops_in_threads_sharing_one_stream_lose_no_record(self):
        # Threads that each run a loop and install() on one shared stream: before, install()
        # replaced the process's sink while other threads still wrote into the old one, whose
        # last lines nothing flushed (about one run in four lost some, 3.12 most).
        recs, _, _ = run("""
            import random
            STREAM = open(LOG, "w")
            LOCK = threading.Lock()
            async def page(name):
                with stage("fetch"):
                    await asyncio.sleep(random.uniform(0.001, 0.005))
            async def crawl(round, w):
                with LOCK:
                    ca.install(stream=STREAM)
                await asyncio.gather(*(asyncio.create_task(page(p), name="r%d-w%d-p%d" % (round, w, p))
                                       for p in range(25)))
            for round in range(12):
                ts = [threading.Thread(target=asyncio.run, args=(crawl(round, w),)) for w in range(4)]
                for t in ts: t.start()
                for t in ts: t.join()
        """)
        status = {}
        for r in recs:
            if "status" in r:
                status.setdefault(r["task"], []).append(r["status"])
        want = ["r%d-w%d-p%d" % (r, w, p) for r in range(12) for w in range(4) for p in range(25)]
        lost = [t for t in want if status.get(t) != ["created", "started", "done"]]
        self.assertFalse(lost, "%d tasks lost records: %s" % (len(lost), lost[:5]))
        self.assertEqual(sum(1 for r in recs if r.get("stage") == "fetch"), len(want))

    def test_names_are_numbered_afresh_in_the_next_tests_log(self):
        # coroner_pytest gives each test a log and ends it with mark_test_end("test ended: ...").
        # A test's "poller" is "poller" there, however many earlier tests made one; a task that
        # may still appear in the new log keeps its name taken (the pending "sticky", and the
        # failed "lost" whose exception nobody retrieved yet). "asyncio.run returned in" ends no log.
        recs, _, _ = run("""
            async def boom(): raise ValueError("x")
            kept = []
            STREAM = open(LOG, "w")
            async def test(n):
                ca.install(stream=STREAM)
                await asyncio.create_task(asyncio.sleep(0), name="poller")
                await asyncio.create_task(asyncio.sleep(0), name="poller")
                t = asyncio.create_task(asyncio.sleep(30), name="sticky")
                b = asyncio.create_task(boom(), name="lost")
                await asyncio.sleep(0.01)
                kept.extend((t, b))
                ca.mark_test_end("asyncio.run returned in t%d" % n, [])
                await asyncio.create_task(asyncio.sleep(0), name="poller")
                ca.mark_test_end("test ended: t%d" % n, [])
            loop = asyncio.new_event_loop()
            loop.run_until_complete(test(1))
            loop.run_until_complete(test(2))
            loop.run_until_complete(test(3))
            ca.mark_test_end("a third", [], log_ends=True)
            loop.run_until_complete(test(4))
        """)
        ends = [i for i, r in enumerate(recs) if str(r.get("reason", "")).startswith(("test ended", "a third"))]
        logs = [recs[:ends[0]], recs[ends[0]:ends[1]], recs[ends[1]:ends[2]], recs[ends[3]:]]
        created = [[r["task"] for r in log if r.get("status") == "created" and not r["task"].startswith("Task-")]
                   for log in logs]
        self.assertEqual(created[0], ["poller", "poller#2", "sticky", "lost", "poller#3"], created)
        self.assertEqual(created[1], ["poller", "poller#2", "sticky#2", "lost#2", "poller#3"], created)
        self.assertEqual(created[2], ["poller", "poller#2", "sticky#3", "lost#3", "poller#3"], created)
        self.assertEqual(created[3][:2], ["poller", "poller#2"], created)

    def test_the_modules_frames_are_hidden_from_pytest_tracebacks(self):
        # pytest leaves out a frame whose locals have __tracebackhide__: an exception the user's
        # await raises shows no wrapper of the module (wait_for, gather, the primitives, ...).
        recs, _, _ = run("""
            import traceback
            MODULE = os.path.basename(ca.__file__)
            async def boom(): await asyncio.sleep(0); raise ValueError("x")
            async def main():
                install()
                q, lock, ev = asyncio.Queue(), asyncio.Lock(), asyncio.Event()
                sem, cond = asyncio.Semaphore(0), asyncio.Condition()
                cases = [lambda: asyncio.wait_for(boom(), 1), lambda: asyncio.gather(boom()),
                         lambda: asyncio.wait_for(q.get(), 0.01), lambda: asyncio.wait_for(ev.wait(), 0.01),
                         lambda: asyncio.wait_for(sem.acquire(), 0.01), lambda: asyncio.shield(boom()),
                         lambda: ca.traced(boom()), lambda: ca.traced_gather(boom())]
                async def in_cond():
                    async with cond:
                        await asyncio.wait_for(cond.wait(), 0.01)
                async def kill_nobody():
                    os.kill(2 ** 30, 0)  # no such process (os.kill is wrapped by install())
                cases += [in_cond, kill_nobody]
                if hasattr(asyncio, "TaskGroup"):
                    async def group():
                        async with asyncio.TaskGroup() as tg:
                            tg.create_task(boom())
                    async def scope():
                        async with asyncio.timeout(0.01):
                            await q.get()
                    cases += [group, scope]
                shown = []
                for case in cases:
                    try:
                        await case()
                    except BaseException as e:
                        tb = e.__traceback__
                        while tb is not None:
                            f = tb.tb_frame
                            if os.path.basename(f.f_code.co_filename) == MODULE and "__tracebackhide__" not in f.f_locals:
                                shown.append("%s in %s" % (tb.tb_lineno, f.f_code.co_name))
                            tb = tb.tb_next
                    else:
                        shown.append("no exception")
                stage("shown", frames=shown)
            asyncio.run(main())
        """)
        shown = [r["data"]["frames"] for r in recs if r.get("stage") == "shown"]
        self.assertEqual(shown, [[]])

    def test_cancel_record_carries_the_cancel_message(self):
        recs, _, _ = run("""
            async def main():
                install()
                t = asyncio.create_task(asyncio.sleep(30), name="slow")
                u = asyncio.create_task(asyncio.sleep(30), name="plain")
                await asyncio.sleep(0.01)
                t.cancel(msg="watchdog: stuck for 30 s")
                u.cancel()
                await asyncio.gather(t, u, return_exceptions=True)
            asyncio.run(main())
        """)
        cancels = {r["task"]: r for r in recs if r.get("coroner") == "cancel"}
        self.assertEqual(cancels["slow"].get("msg"), "watchdog: stuck for 30 s")
        self.assertNotIn("msg", cancels["plain"])

    def test_threads_lines_whole(self):
        recs, _, _ = run("""
            async def main():
                install()
                def worker(n):
                    for i in range(2000):
                        emit({"task": "thread-%d" % n, "stage": "s", "i": i, "pad": "x" * (i % 300)})
                ths = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
                for t in ths: t.start()
                for i in range(2000):
                    stage("loop"); await asyncio.sleep(0) if i % 50 == 0 else None
                for t in ths: t.join()
            asyncio.run(main())
        """)
        for n in range(4):
            seq = [r["i"] for r in recs if r.get("task") == "thread-%d" % n]
            self.assertEqual(seq, list(range(2000)))
        self.assertEqual(sum(1 for r in recs if r.get("stage") == "loop"), 2000)

    @unittest.skipUnless(hasattr(os, "fork"), "no fork")
    def test_fork_child(self):
        recs, _, _ = run("""
            async def main():
                install()
                stage("before fork")
                pid = os.fork()
                if pid == 0:
                    stage("in child")
                    ca._flush()
                    os._exit(0)
                os.waitpid(pid, 0)
                stage("after fork")
            asyncio.run(main())
        """)
        before = [r for r in recs if r.get("stage") == "before fork"]
        self.assertEqual(len(before), 1, "the child re-wrote the parent's buffer")
        child = [r for r in recs if r.get("stage") == "in child"][0]
        self.assertNotEqual(child["pid"], before[0]["pid"])


def other_pythons():
    found = sorted(glob.glob("/root/.pyenv/versions/3.*/bin/python3")) + sorted(glob.glob("/usr/bin/python3.[0-9]*"))
    out = []
    for p in found:
        if p.endswith("-config") or not os.access(p, os.X_OK):
            continue
        v = subprocess.run([p, "-c", "import sys; print(sys.version_info >= (3, 9))"], capture_output=True, text=True)
        if v.stdout.strip() == "True" and os.path.realpath(p) not in [os.path.realpath(o) for o in out]:
            out.append(p)
    return out


if __name__ == "__main__":
    if "--all-pythons" in sys.argv:
        failed = []
        for py in other_pythons():
            print("==", py, flush=True)
            if subprocess.run([py, os.path.abspath(__file__)]).returncode not in (0, 77):
                failed.append(py)
        print("failed:", failed or "none")
        sys.exit(1 if failed else 0)
    if sys.version_info < (3, 9):
        print("skip: python 3.9+ needed")
        sys.exit(77)
    result = unittest.main(exit=False, verbosity=1).result
    sys.exit(0 if result.wasSuccessful() else 1)
