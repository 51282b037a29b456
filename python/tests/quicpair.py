"""Two tern.quic.Context objects joined through handle_message, recording
each side's secrets and the levels of what it sent."""
from typing import Any, Dict, List, Tuple

from tern.quic import Context, Direction, Level


class Side:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.secrets: Dict[Tuple[Direction, Level], bytes] = {}
        self.order: List[Tuple[Direction, Level]] = []
        self.sent: List[Level] = []
        ctx.secret_callback = self.on_secret

    def on_secret(self, direction: Direction, level: Level, suite: int, secret: bytes) -> None:
        assert isinstance(direction, Direction) and isinstance(level, Level)
        assert suite in (0x1301, 0x1302, 0x1303)
        self.secrets[(direction, level)] = secret
        self.order.append((direction, level))


def exchange(client: Side, server: Side, rounds: int = 10) -> None:
    """Runs the handshake: the client's first flight, then whatever each
    side answers, level by level, until nothing moves."""
    queue: List[Tuple[Side, Level, bytes]] = []

    def send(frm: Side, to: Side, out: Dict[Any, bytes]) -> None:
        for level, data in sorted(out.items()):
            # a level's write secret comes before its data
            assert level == Level.INITIAL or (Direction.WRITE, level) in frm.secrets
            frm.sent.append(level)
            queue.append((to, level, data))

    send(client, server, client.ctx.handle_message(b"", Level.INITIAL))
    while queue:
        to, level, data = queue.pop(0)
        other = server if to is client else client
        send(to, other, to.ctx.handle_message(data, level))
