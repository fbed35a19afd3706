"""The injection map's diagram (drawn for this project): face front, neck, décolleté and the backs of
both hands, in one coordinate space (the SVG viewBox, 0–600 across, 0–720 down). Each treatable zone
is an ellipse; a point belongs to a zone when it falls inside it (rule `map-points-in-zone`,
docs/clinical-rules.md). Sides are the patient's: their right is on the viewer's left."""

from dataclasses import dataclass

WIDTH, HEIGHT = 600, 720
MAX_POINTS_PER_ZONE = 200


@dataclass(frozen=True)
class Zone:
    key: str
    label: str
    region: str  # face, neck, decollete, hands: the session record's areas
    cx: int
    cy: int
    rx: int
    ry: int

    def contains(self, x: float, y: float) -> bool:
        # A little slack at the edge: a tap on the outline counts as inside.
        return ((x - self.cx) / (self.rx * 1.1)) ** 2 + ((y - self.cy) / (self.ry * 1.1)) ** 2 <= 1

    def grid(self, n: int) -> tuple[int, int]:
        """The n-th point of a regular grid inside the zone: where "Add point" puts a point without
        a tap (keyboard users), row by row from the top left."""
        step = 12
        cols = max(1, (2 * self.rx * 7 // 10) // step)
        rows = max(1, (2 * self.ry * 7 // 10) // step)
        col, row = n % cols, (n // cols) % rows
        x0 = self.cx - (cols - 1) * step // 2
        y0 = self.cy - (rows - 1) * step // 2
        return x0 + col * step, y0 + row * step


ZONES = [
    Zone("forehead", "Forehead", "face", 300, 92, 82, 32),
    Zone("glabella", "Between the brows", "face", 300, 142, 18, 14),
    Zone("periorbital_right", "Under the right eye", "face", 255, 168, 28, 12),
    Zone("periorbital_left", "Under the left eye", "face", 345, 168, 28, 12),
    Zone("cheek_right", "Right cheek", "face", 232, 212, 34, 38),
    Zone("cheek_left", "Left cheek", "face", 368, 212, 34, 38),
    Zone("nasolabial_right", "Right nasolabial fold", "face", 275, 232, 10, 26),
    Zone("nasolabial_left", "Left nasolabial fold", "face", 325, 232, 10, 26),
    Zone("perioral", "Around the mouth", "face", 300, 262, 30, 13),
    Zone("chin", "Chin", "face", 300, 296, 26, 14),
    Zone("jawline_right", "Right jawline", "face", 222, 270, 16, 30),
    Zone("jawline_left", "Left jawline", "face", 378, 270, 16, 30),
    Zone("neck_front", "Front of the neck", "neck", 300, 362, 46, 32),
    Zone("decollete", "Décolleté", "decollete", 300, 450, 130, 38),
    Zone("hand_right", "Back of the right hand", "hands", 130, 610, 56, 70),
    Zone("hand_left", "Back of the left hand", "hands", 470, 610, 56, 70),
]
BY_KEY = {zone.key: zone for zone in ZONES}
CHOICES = [(zone.key, zone.label) for zone in ZONES]
