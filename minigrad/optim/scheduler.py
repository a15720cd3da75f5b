"""Learning-rate schedules."""
from __future__ import annotations


class StepLR:
    """Multiply each group's learning rate by ``gamma`` every ``step_size`` calls of
    :meth:`step` (torch's ``StepLR``)::

        lr_epoch = lr_0 * gamma ** (epoch // step_size)

    Call ``scheduler.step()`` once per epoch, after ``optimizer.step()``.
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        if int(step_size) != step_size or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size}")
        self.optimizer, self.step_size, self.gamma = optimizer, int(step_size), gamma
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.last_epoch = 0

    def step(self) -> None:
        """Advance one epoch; decay the learning rates when a multiple of ``step_size`` is reached."""
        self.last_epoch += 1
        if self.last_epoch % self.step_size == 0:
            for group in self.optimizer.param_groups:
                group["lr"] *= self.gamma

    def get_last_lr(self) -> list:
        """The current learning rate of every parameter group."""
        return [group["lr"] for group in self.optimizer.param_groups]
