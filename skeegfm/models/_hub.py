"""Configuration capture and Hugging Face Hub integration shared by all encoders.

Every encoder class inherits :class:`HubMixin`. The mixin records the
arguments each instance was constructed with (``_hub_config``), which is what
``get_config``/``save_pretrained`` serialise.
"""

from __future__ import annotations

import functools
import inspect

__all__ = ["HubMixin"]


class HubMixin:
    """Record constructor arguments of ``nn.Module`` encoders.

    Subclasses get their ``__init__`` wrapped once at class creation so that,
    after construction, ``self._hub_config`` holds every ``__init__`` argument
    (defaults included) by name, as bound by the signature.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:
            return
        init = cls.__dict__["__init__"]
        signature = inspect.signature(init)

        @functools.wraps(init)
        def __init__(self, *args, **kw):
            init(self, *args, **kw)
            if type(self) is cls:  # only the most derived class records
                bound = signature.bind(self, *args, **kw)
                bound.apply_defaults()
                config = dict(bound.arguments)
                config.pop("self")
                for name, param in signature.parameters.items():
                    if param.kind is inspect.Parameter.VAR_KEYWORD:
                        config.update(config.pop(name, {}))
                    elif param.kind is inspect.Parameter.VAR_POSITIONAL:
                        config.pop(name, None)
                object.__setattr__(self, "_hub_config", config)

        cls.__init__ = __init__
