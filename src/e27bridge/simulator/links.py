"""The simulated panel's link table: linked client identities and their link keys."""

from __future__ import annotations

from e27bridge.protocol.identity import LinkKeys


class LinkTable:
    """Linked client identities by ``sn``; re-linking an ``sn`` reuses its slot."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._links: dict[str, LinkKeys] = {}
        self.changed = False  # set on every add/revoke; the state file clears it

    def items(self) -> dict[str, LinkKeys]:
        return dict(self._links)

    def load(self, links: dict[str, LinkKeys]) -> None:
        """Restore saved links (a panel's memory), beyond ``slots`` if it once had more."""
        self._links = dict(links)

    def get(self, sn: str) -> LinkKeys | None:
        return self._links.get(sn)

    def add(self, sn: str, keys: LinkKeys) -> bool:
        if sn not in self._links and len(self._links) >= self.slots:
            return False
        self._links[sn] = keys
        self.changed = True
        return True

    def revoke(self, sn: str | None = None) -> list[str]:
        """Remove one link (or all); returns the ``sn`` values removed."""
        removed = list(self._links) if sn is None else [sn] if sn in self._links else []
        for key in removed:
            del self._links[key]
        self.changed = self.changed or bool(removed)
        return removed

    def sns(self) -> list[str]:
        return sorted(self._links)

    def __len__(self) -> int:
        return len(self._links)

    def __repr__(self) -> str:
        return f"LinkTable({len(self._links)}/{self.slots} slots)"
