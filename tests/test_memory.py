"""The memory estimate of a run, against hand-computed footprints, and where the free memory is read from."""

import io
import os

import pytest

from ddpg import memory
from ddpg.config import DDPGConfig
from ddpg.errors import UserInputError
from ddpg.memory import available_memory, check_fits_in_memory, dense_parameters, footprint

# Small and lopsided on purpose: every layer size differs, so a slip of one for another changes the total.
SMALL = DDPGConfig(buffer_capacity=10, batch_size=2, actor_hidden=(3,), critic_state_hidden=(2,),
                   critic_action_hidden=(4,), critic_hidden=(5,))
OBS_DIM, ACTION_DIM = 3, 1
# buffer:      10 transitions * (2 * 3 obs + 1 action + reward + terminated) * 4 bytes        =   360
# parameters:  actor 3 -> 3 -> 1:           (3*3 + 3) + (3*1 + 1)                           =    16
#              critic state branch 3 -> 2:   3*2 + 2                                          =     8
#              critic action branch 1 -> 4:  1*4 + 4                                          =     8
#              critic head (2 + 4) -> 5 -> 1: (6*5 + 5) + (5*1 + 1)                           =    41
#              73 parameters * 10 copies * 4 bytes                                            =  2920
# activations: batch 2 * widths (3 + 2 + 4 + 5 = 14) * 8 copies * 4 bytes                     =   896
# footprint:   2 * 360 + 2920 + 896                                                           =  4536
SMALL_FOOTPRINT = 4536


@pytest.mark.parametrize("inputs, sizes, expected", [
    (3, (), 0),
    (3, (2,), 3 * 2 + 2),
    (3, (4, 2), (3 * 4 + 4) + (4 * 2 + 2)),
    (5, (1, 1, 7), (5 * 1 + 1) + (1 * 1 + 1) + (1 * 7 + 7)),
])
def test_dense_parameters_by_hand(inputs, sizes, expected):
    assert dense_parameters(inputs, sizes) == expected


def test_footprint_by_hand():
    assert footprint(SMALL, OBS_DIM, ACTION_DIM) == SMALL_FOOTPRINT


def test_footprint_of_the_defaults_by_hand():
    # Pendulum (obs 3, action 1) with the Keras example's networks:
    # buffer:      50000 * 9 * 4                                                       =  1,800,000
    # parameters:  actor 3 -> 256 -> 256 -> 1:  1024 + 65792 + 257                     =     67,073
    #              state 3 -> 16 -> 32:  64 + 544                                      =        608
    #              action 1 -> 32:  64                                                 =         64
    #              head (32 + 32) -> 256 -> 256 -> 1:  16640 + 65792 + 257             =     82,689
    #              150,434 parameters * 10 * 4                                         =  6,017,360
    # activations: 64 * (512 + 48 + 32 + 512 = 1104) * 8 * 4                          =  2,260,992
    # footprint:   2 * 1,800,000 + 6,017,360 + 2,260,992                               = 11,878,352
    assert footprint(DDPGConfig(), 3, 1) == 11_878_352


def test_footprint_grows_with_each_dimension():
    # One more observation dimension: 2 more floats per transition, 10 * 2 * 4 * 2 (buffer twice) = 160 bytes;
    # 3 + 2 more parameters on the actor's and the state branch's first layer, * 40 = 200 bytes.
    assert footprint(SMALL, OBS_DIM + 1, ACTION_DIM) == SMALL_FOOTPRINT + 160 + 200
    # One more action dimension: 1 more float per transition (80 bytes); 3 + 1 more in the actor's output layer
    # and 4 in the action branch's first layer, * 40 = 320 bytes.
    assert footprint(SMALL, OBS_DIM, ACTION_DIM + 1) == SMALL_FOOTPRINT + 80 + 320


def fake_meminfo(monkeypatch, text=None, error=None):
    def fake_open(path, *args, **kwargs):
        assert path == "/proc/meminfo"
        if error is not None:
            raise error
        return io.StringIO(text)

    monkeypatch.setattr(memory, "open", fake_open, raising=False)  # shadows the builtin in ddpg.memory only


def fake_sysconf(monkeypatch, pages=3, page_size=4096):
    values = {"SC_AVPHYS_PAGES": pages, "SC_PAGE_SIZE": page_size}
    monkeypatch.setattr(os, "sysconf", lambda name: values[name])


def test_available_memory_is_linuxs_mem_available(monkeypatch):
    fake_meminfo(monkeypatch, "MemTotal:       16384 kB\nMemFree:         1024 kB\nMemAvailable:    2048 kB\n"
                              "Buffers:          512 kB\n")
    fake_sysconf(monkeypatch)
    assert available_memory() == 2048 * 1024


@pytest.mark.parametrize("text, error", [
    ("MemTotal: 16384 kB\nMemFree: 1024 kB\n", None),  # an old kernel: no MemAvailable
    ("MemAvailable: lots kB\n", None),  # ValueError
    ("MemAvailable:\n", None),  # IndexError
    (None, FileNotFoundError("/proc/meminfo")),  # not Linux
    (None, PermissionError("/proc/meminfo")),
])
def test_without_mem_available_it_asks_sysconf(monkeypatch, text, error):
    fake_meminfo(monkeypatch, text, error)
    fake_sysconf(monkeypatch, pages=3, page_size=4096)
    assert available_memory() == 3 * 4096


@pytest.mark.parametrize("error", [ValueError("unknown name"), OSError("not supported")])
def test_without_either_it_is_unknown(monkeypatch, error):
    def failing(name):
        raise error

    fake_meminfo(monkeypatch, error=FileNotFoundError("/proc/meminfo"))
    monkeypatch.setattr(os, "sysconf", failing)
    assert available_memory() is None


def test_without_sysconf_at_all_it_is_unknown(monkeypatch):
    fake_meminfo(monkeypatch, error=FileNotFoundError("/proc/meminfo"))
    monkeypatch.delattr(os, "sysconf")  # Windows has none
    assert available_memory() is None


def test_this_machine_reports_some_memory():
    assert available_memory() > 0


def test_a_run_that_fits_exactly_is_accepted():
    check_fits_in_memory(SMALL, OBS_DIM, ACTION_DIM, available=SMALL_FOOTPRINT)


def test_a_run_one_byte_too_large_is_refused():
    with pytest.raises(UserInputError, match="Expected a run that fits in memory"):
        check_fits_in_memory(SMALL, OBS_DIM, ACTION_DIM, available=SMALL_FOOTPRINT - 1)


def test_the_refusal_names_the_sizes_in_gib_and_the_settings_behind_them():
    # 10^8 transitions: 2 * 10^8 * 9 * 4 = 7,200,000,000 bytes, + 2920 + 896 for the networks = 7,200,003,816 bytes,
    # / 2^30 = 6.7055... GiB.
    big = DDPGConfig(buffer_capacity=10**8, batch_size=2, actor_hidden=(3,), critic_state_hidden=(2,),
                     critic_action_hidden=(4,), critic_hidden=(5,))
    assert footprint(big, OBS_DIM, ACTION_DIM) == 7_200_003_816
    with pytest.raises(UserInputError) as error:
        check_fits_in_memory(big, OBS_DIM, ACTION_DIM, available=3 * 2**30)
    assert str(error.value) == (
        "Expected a run that fits in memory: about 6.7 GiB for the replay buffer and the networks, with 3.0 GiB "
        "available. Received: buffer_capacity=100000000, actor_hidden=(3,), critic_hidden=(5,), batch_size=2")


def test_without_a_figure_it_reads_the_machines(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: SMALL_FOOTPRINT - 1)
    with pytest.raises(UserInputError, match=r"with 0\.0 GiB available"):
        check_fits_in_memory(SMALL, OBS_DIM, ACTION_DIM)
    monkeypatch.setattr(memory, "available_memory", lambda: SMALL_FOOTPRINT)
    check_fits_in_memory(SMALL, OBS_DIM, ACTION_DIM)


def test_when_the_machines_memory_is_unknown_the_run_goes_ahead(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: None)
    check_fits_in_memory(SMALL, OBS_DIM, ACTION_DIM)


def test_a_figure_of_zero_is_a_figure():
    # 0 bytes given is not "unknown": the run is refused, the machine is not asked.
    with pytest.raises(UserInputError, match=r"with 0\.0 GiB available"):
        check_fits_in_memory(SMALL, OBS_DIM, ACTION_DIM, available=0)


def test_the_footprint_of_a_critic_that_joins_s_and_a_at_its_input():
    # buffer 1000 x (2*3 + 1 + 2) floats x 4 B = 36,000, twice: 72,000; parameters: actor 3*8+8 + 8*1+1 = 41,
    # no branches, joint (3+1)*8+8 + 8*1+1 = 49: 90 x 10 copies x 4 B = 3,600; activations 4 x (8 + 8) x 8 x 4 B
    # = 2,048. In all 77,648.
    config = DDPGConfig(buffer_capacity=1000, batch_size=4, actor_hidden=(8,), critic_state_hidden=(),
                        critic_action_hidden=(), critic_hidden=(8,))
    assert footprint(config, 3, 1) == 77_648
