"""App-made ids (pownce/ids.py): unique and ordered across generators writing at once, across a
clock that steps back and across restarts; existing rows keep their ids."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pownce import ids


class FakeClock:
    """A clock the test moves by hand; ``sleep`` moves it forward, as time would."""

    def __init__(self, ms: int) -> None:
        self.ms = ms
        self.slept = 0.0

    def __call__(self) -> int:
        return self.ms

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.ms += max(1, round(seconds * 1000))


def test_id_layout_orders_by_time_then_generator_then_sequence():
    earlier = ids.compose(1000, 4095, 1023)
    later = ids.compose(1001, 0, 0)
    assert earlier < later < 2**63
    assert ids.parts(ids.compose(123456, 77, 9)) == (123456, 77, 9)
    with pytest.raises(ValueError):
        ids.compose(0, ids.MAX_GENERATOR + 1, 0)


def test_ids_of_four_generators_writing_concurrently_are_unique_and_ordered_per_generator():
    generators = [ids.IdGenerator(g) for g in (1, 2, 3, 4)]
    made: dict[int, list[int]] = {}

    def run(generator: ids.IdGenerator) -> None:
        out: list[int] = []
        for _ in range(2000):
            out.extend(generator.next_ids(5))
        made[generator.generator] = out

    # Two threads per generator: one generator is shared by a process's threads.
    threads = [threading.Thread(target=run, args=(g,)) for g in generators]
    threads += [
        threading.Thread(target=lambda g=g: made.setdefault(-g.generator, g.next_ids(3000))) for g in generators
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for batch in made.values() for i in batch]
    assert len(everything) == 4 * (10_000 + 3000)
    assert len(set(everything)) == len(everything)
    for batch in made.values():
        assert batch == sorted(batch)  # each caller's ids ascend
    for generator in generators:
        mine = sorted(i for i in everything if ids.parts(i)[1] == generator.generator)
        assert len(mine) == 13_000
    # Time order across generators, to the millisecond: an id made in a later millisecond than
    # another is larger, whichever generators made them.
    latest_ms = max(ids.parts(i)[0] for i in everything)
    while ids.wall_clock_ms() <= latest_ms:  # at most a millisecond
        pass
    assert generators[0].next_id() > max(everything)


def test_sequence_exhaustion_waits_for_the_next_millisecond():
    clock = FakeClock(5000)
    generator = ids.IdGenerator(7, clock=clock, sleep=clock.sleep)
    batch = generator.next_ids(ids.MAX_SEQUENCE + 1 + 10)
    assert len(set(batch)) == len(batch) and batch == sorted(batch)
    assert {ids.parts(i)[0] for i in batch} == {5000, 5001}
    assert clock.slept > 0


def test_small_clock_step_back_waits_and_never_repeats_an_id():
    clock = FakeClock(10_000)
    generator = ids.IdGenerator(3, clock=clock, sleep=clock.sleep, max_wait=1.0)
    before = generator.next_ids(ids.MAX_SEQUENCE + 1)  # fills millisecond 10_000
    clock.ms = 9_700  # NTP steps the clock back 300 ms
    after = generator.next_ids(10)
    assert min(after) > max(before)
    assert ids.parts(after[0])[0] == 10_001
    assert clock.slept >= 0.3


def test_large_clock_step_back_refuses_to_make_ids():
    clock = FakeClock(50_000)
    generator = ids.IdGenerator(3, clock=clock, sleep=clock.sleep, max_wait=1.0)
    generator.next_ids(ids.MAX_SEQUENCE + 1)
    clock.ms = 40_000  # ten seconds back
    with pytest.raises(ids.ClockWentBackwards):
        generator.next_id()
    clock.ms = 50_001  # once the clock passes the last id again, ids flow again
    assert ids.parts(generator.next_id())[0] == 50_001


def test_restart_after_clock_step_back_continues_above_the_lease(tmp_path):
    clock = FakeClock(100_000)
    lease = ids.Lease(tmp_path / "slot-0")
    assert lease.try_lock()
    first = ids.IdGenerator(9, lease=lease, clock=clock, sleep=clock.sleep)
    issued = first.next_ids(50)
    lease.release()  # the process dies

    clock.ms = 99_900  # and the machine comes back with its clock 100 ms behind
    lease = ids.Lease(tmp_path / "slot-0")
    assert lease.try_lock()
    second = ids.IdGenerator(9, lease=lease, clock=clock, sleep=clock.sleep, max_wait=1.0)
    again = second.next_ids(50)
    assert min(again) > max(issued)
    assert ids.parts(again[0])[0] > 100_000 + ids.LEASE_MS - 1  # past everything the lease allowed
    lease.release()

    clock.ms = 10_000  # a clock far behind the lease: refuse rather than risk a duplicate
    lease = ids.Lease(tmp_path / "slot-0")
    assert lease.try_lock()
    with pytest.raises(ids.ClockWentBackwards):
        ids.IdGenerator(9, lease=lease, clock=clock, sleep=clock.sleep, max_wait=1.0).next_id()
    lease.release()


def test_processes_on_one_host_claim_distinct_slots(tmp_path):
    first = ids.claim_generator(5, tmp_path, max_wait=1)
    second = ids.claim_generator(5, tmp_path, max_wait=1)
    assert first.generator != second.generator
    assert {first.generator // ids.SLOTS, second.generator // ids.SLOTS} == {5}
    first.lease.release()
    third = ids.claim_generator(5, tmp_path, max_wait=1)
    assert third.generator == first.generator  # a dead process's slot is free again
    second.lease.release()
    third.lease.release()


def _make_ids(directory: str, count: int, queue, together) -> None:
    generator = ids.claim_generator(1, Path(directory), max_wait=1)
    together.wait(timeout=60)  # all four hold a slot at once, then write
    queue.put((generator.generator, generator.next_ids(count)))


def test_four_processes_make_unique_ids(tmp_path):
    context = multiprocessing.get_context("spawn")
    queue, together = context.Queue(), context.Barrier(4)
    workers = [context.Process(target=_make_ids, args=(str(tmp_path), 20_000, queue, together)) for _ in range(4)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert len({generator for generator, _ in results}) == 4
    everything = [i for _, batch in results for i in batch]
    assert len(set(everything)) == 80_000


def test_lowest_id_of_a_moment_bounds_ids_made_after_it():
    moment = datetime.now(UTC)
    assert ids.new_id() >= ids.lowest_id_at(moment)
    assert ids.lowest_id_at(datetime(2024, 1, 1, tzinfo=UTC)) == 0
