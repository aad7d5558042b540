import os
import sys
from pathlib import Path

# Tests never touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """Factory of tiny saved encoders: ``tiny_checkpoint("eegpt")`` returns a
    directory written by ``save_pretrained`` (see ``tests/_tiny.py``), made
    once per family and seed per test session."""
    from _tiny import save_tiny

    made = {}

    def make(family, seed=0):
        if (family, seed) not in made:
            folder = tmp_path_factory.mktemp(f"tiny_{family}_{seed}")
            made[family, seed] = save_tiny(family, folder, seed)
        return made[family, seed]

    return make


@pytest.fixture(autouse=True)
def _fresh_warning_registry():
    """Each test sees the estimators' once-per-configuration warnings anew."""
    from skeegfm import _warnings

    _warnings.reset()
    yield


@pytest.fixture
def no_network(monkeypatch):
    """Record (and refuse) every outgoing connection: the list must stay empty.

    Replaces wall-time asserts ("fails fast") by what they were after: the
    offline paths never try the network.
    """
    import socket

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[1:] or args)
        raise OSError("test: the network must not be used here")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts
