"""A Jupyter server whose kernel sessions take 8 s to appear, as on a cold, loaded machine.

Run All clicked before the session exists runs nothing: JupyterLab clears the
queued cells.  The browser tests once waited for the page's "idle" badge,
which shows before the kernel exists, and then waited ten silent minutes for
cells that would never run.  ``test_slow_kernel_start`` keeps that fixed.
"""
import asyncio

from jupyter_server.services.sessions.sessionmanager import SessionManager

DELAY_S = 8


class SlowSessionManager(SessionManager):
    async def create_session(self, *args, **kwargs):
        await asyncio.sleep(DELAY_S)
        return await super().create_session(*args, **kwargs)
