"""The jobs domain: the job table (``models``), the control plane's port to background work
(``queue``: the send side, with the broker handed in), and the routes that show a job to its owner.

A job is a row in the ``jobs`` table (its state, as workers report it) and a message on the
broker. The plane records the row and sends the message through the Dramatiq broker that the
process's entry point made and declared every job type on; it never imports the workers.
"""

from control_plane.jobs.errors import BrokerUnavailable, EnqueueFailed
from control_plane.jobs.queue import JobQueue, enqueue, ping_broker

__all__ = ["JobQueue", "enqueue", "ping_broker", "EnqueueFailed", "BrokerUnavailable"]
