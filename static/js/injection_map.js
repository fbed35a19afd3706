// The injection map editor (templates/treatments/session_map.html). Without this script the page is a
// plain form: each zone's fields, with points typed as "x,y" pairs. With it:
// - a tap (touch, pen or mouse) inside a zone selects it, ticks "treated" and adds a point there;
// - Tab reaches each zone of the diagram; Enter or Space selects it (ticks "treated");
// - each zone's "Add point" button puts a point on a regular grid inside the zone (keyboard users),
//   "Remove last point" takes the last one off;
// - the points input, the dots on the diagram and the running total stay in step.
(() => {
  const svg = document.querySelector("svg[data-injection-map]");
  if (!svg) return;
  const NS = "http://www.w3.org/2000/svg";
  const STEP = 12; // the grid of treatments/injection_map.py Zone.grid
  const zones = {};
  svg.querySelectorAll("ellipse[data-zone]").forEach((el) => {
    zones[el.dataset.zone] = {
      el,
      cx: Number(el.getAttribute("cx")),
      cy: Number(el.getAttribute("cy")),
      rx: Number(el.getAttribute("rx")),
      ry: Number(el.getAttribute("ry")),
      label: el.dataset.label,
    };
  });
  const field = (key, name) => document.getElementById(`id_${key}-${name}`);
  const status = document.getElementById("map-status");

  const say = (text) => {
    if (status) status.textContent = text;
  };

  const readPoints = (key) =>
    (field(key, "points").value || "")
      .replaceAll(";", " ")
      .split(/\s+/)
      .filter(Boolean)
      .map((pair) => pair.split(",").map(Number))
      .filter((p) => p.length === 2 && p.every(Number.isFinite));

  const draw = (key) => {
    const group = svg.querySelector(`[data-points-for="${key}"]`);
    group.replaceChildren();
    readPoints(key).forEach(([x, y]) => {
      const dot = document.createElementNS(NS, "circle");
      dot.setAttribute("cx", x);
      dot.setAttribute("cy", y);
      dot.setAttribute("r", 4);
      group.appendChild(dot);
    });
    const treated = field(key, "treated").checked;
    svg.querySelector(`[data-zone-group="${key}"]`).classList.toggle("treated", treated);
    const count = document.querySelector(`[data-point-count="${key}"]`);
    if (count) count.textContent = String(readPoints(key).length);
  };

  const writePoints = (key, points) => {
    field(key, "points").value = points.map(([x, y]) => `${x},${y}`).join(" ");
    draw(key);
  };

  const select = (key, { focusCard = false } = {}) => {
    Object.values(zones).forEach((z) => z.el.classList.remove("selected"));
    document.querySelectorAll(".map-zone-card").forEach((c) => c.classList.remove("selected"));
    zones[key].el.classList.add("selected");
    const treated = field(key, "treated");
    if (!treated.checked) {
      treated.checked = true;
      treated.dispatchEvent(new Event("change", { bubbles: true }));
    }
    const card = document.querySelector(`[data-zone-card="${key}"]`);
    if (card) {
      card.open = true;
      card.classList.add("selected");
      // Only a keyboard selection moves the page: under a finger the diagram must stay where it is.
      if (focusCard) {
        card.scrollIntoView({ block: "nearest" });
        card.querySelector("input[type=number], select")?.focus();
      }
    }
    draw(key);
  };

  const inside = (z, x, y) => ((x - z.cx) / (z.rx * 1.1)) ** 2 + ((y - z.cy) / (z.ry * 1.1)) ** 2 <= 1;

  const gridPoint = (z, n) => {
    const cols = Math.max(1, Math.floor(Math.floor((2 * z.rx * 7) / 10) / STEP));
    const rows = Math.max(1, Math.floor(Math.floor((2 * z.ry * 7) / 10) / STEP));
    const col = n % cols;
    const row = Math.floor(n / cols) % rows;
    const x0 = z.cx - Math.floor(((cols - 1) * STEP) / 2);
    const y0 = z.cy - Math.floor(((rows - 1) * STEP) / 2);
    return [x0 + col * STEP, y0 + row * STEP];
  };

  const addPoint = (key, point) => {
    const points = readPoints(key);
    points.push(point);
    writePoints(key, points);
    say(`${zones[key].label}: ${points.length} point${points.length === 1 ? "" : "s"}.`);
  };

  svg.addEventListener("pointerup", (event) => {
    const matrix = svg.getScreenCTM();
    if (!matrix) return;
    const at = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    const x = Math.round(at.x);
    const y = Math.round(at.y);
    const key = Object.keys(zones).find((k) => inside(zones[k], x, y));
    if (!key) return;
    event.preventDefault();
    select(key);
    addPoint(key, [x, y]);
  });

  svg.addEventListener("keydown", (event) => {
    const key = event.target.dataset?.zone;
    if (!key || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    select(key, { focusCard: true });
    say(`${zones[key].label} selected.`);
  });

  document.addEventListener("click", (event) => {
    const add = event.target.closest("[data-add-point]");
    const remove = event.target.closest("[data-remove-point]");
    if (!add && !remove) return;
    event.preventDefault();
    const key = (add || remove).dataset.addPoint || (add || remove).dataset.removePoint;
    select(key);
    if (add) {
      addPoint(key, gridPoint(zones[key], readPoints(key).length));
    } else {
      const points = readPoints(key);
      points.pop();
      writePoints(key, points);
      say(`${zones[key].label}: ${points.length} point${points.length === 1 ? "" : "s"}.`);
    }
  });

  // The running total of the zones' volumes against the volume given (rule `map-totals`).
  const total = document.getElementById("map-total");
  const updateTotal = () => {
    if (!total) return;
    let sum = 0;
    Object.keys(zones).forEach((key) => {
      if (field(key, "treated").checked) sum += Number(field(key, "volume").value || 0);
    });
    total.textContent = (Math.round(sum * 100) / 100).toString();
  };
  document.addEventListener("input", (event) => {
    const match = /^id_(.+)-(points|volume)$/.exec(event.target.id || "");
    if (match && zones[match[1]]) draw(match[1]);
    updateTotal();
  });
  document.addEventListener("change", (event) => {
    const match = /^id_(.+)-treated$/.exec(event.target.id || "");
    if (match && zones[match[1]]) draw(match[1]);
    updateTotal();
  });
  document.querySelectorAll("[data-map-js]").forEach((el) => {
    el.hidden = false;
  });
  updateTotal();
})();
