// The interactive calendar (scheduling/views.py calendar_board): EventCalendar fed by the JSON of
// calendar_feed; a drag or a stretch is sent to calendar_move, which runs the same services as the
// reschedule form. A refusal puts the appointment back and shows the message. Every name is put in
// as text (textContent), never as HTML.
(function () {
  "use strict";
  const mount = document.getElementById("board");
  const configNode = document.getElementById("board-config");
  if (!mount || !configNode || typeof EventCalendar === "undefined") return;
  const config = JSON.parse(configNode.textContent);
  const messageBox = document.getElementById("board-message");
  const plainLink = document.getElementById("board-plain");
  const filterForm = document.querySelector("form[aria-label='What the calendar shows']");

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function pad(number) {
    return String(number).padStart(2, "0");
  }

  // The clinic's wall clock, as the feed gave it (no offset): the local parts of the Date.
  function localIso(date) {
    return (
      `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
      `T${pad(date.getHours())}:${pad(date.getMinutes())}`
    );
  }

  function say(text, ok) {
    messageBox.textContent = text;
    messageBox.classList.remove("d-none", "alert-success", "alert-danger");
    messageBox.classList.add(ok ? "alert-success" : "alert-danger");
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function content(info) {
    const event = info.event;
    const props = event.extendedProps || {};
    if (event.display === "background") {
      return { domNodes: [element("span", "board-closed-label", event.title)] };
    }
    const kindLabel = config.kinds[props.kind] || props.kind;
    const stateLabel = config.states[props.state] || props.state;
    const box = element("div", "appt");
    const head = element("div", "appt-head");
    head.append(element("span", "appt-time", info.timeText));
    const link = element("a", "appt-patient", event.title);
    link.href = config.appointmentUrl.replace("/0/", `/${event.id}/`);
    head.append(" ", link);
    box.append(head);
    const kind = props.sequence ? `${kindLabel} ${props.sequence}` : kindLabel;
    // The agenda has no columns: it names both; a grid names what its columns do not.
    const list = info.view.type.startsWith("list");
    const where = list
      ? `${props.practitioner} · ${props.room}`
      : config.by === "room"
        ? props.practitioner
        : props.room;
    box.append(element("div", "appt-detail", `${kind} · ${stateLabel} · ${where}`));
    if (props.stranded) {
      box.append(element("div", "appt-stranded-label", "⚠ Outside hours: move it"));
    }
    return { domNodes: [box] };
  }

  async function send(info, fields, what) {
    const body = new URLSearchParams({
      appointment: info.event.id,
      start: localIso(info.event.start),
      end: localIso(info.event.end),
      by: config.by,
      ...fields,
    });
    let answer;
    try {
      const response = await fetch(config.move, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        body,
        credentials: "same-origin",
      });
      answer = await response.json();
    } catch (error) {
      answer = {
        ok: false,
        message: `The ${what} could not be saved (the connection or your login may have ended): nothing was changed. Reload the page and try again.`,
      };
    }
    if (!answer.ok) {
      info.revert();
      say(answer.message, false);
      return;
    }
    say(answer.message, true);
    calendar.refetchEvents(); // outside-hours flags and the column's background follow the move
  }

  const phone = window.matchMedia("(max-width: 575.98px)").matches;
  const calendar = EventCalendar.create(mount, {
    view: phone && !config.chosen ? "listWeek" : config.view,
    date: config.date,
    resources: config.resources,
    eventSources: [{ url: config.feed, method: "GET", extraParams: config.params }],
    headerToolbar: {
      start: "prev,next today",
      center: "title",
      end: "resourceTimeGridDay,resourceTimeGridWeek,listWeek",
    },
    buttonText: (text) => ({
      ...text,
      today: "Today",
      resourceTimeGridDay: "Day",
      resourceTimeGridWeek: "Week",
      listWeek: "Agenda",
    }),
    views: {
      resourceTimeGridWeek: { datesAboveResources: true },
    },
    // Thirty practitioners side by side stay readable: the grid scrolls sideways rather than squeeze them.
    columnWidth: "minmax(7.5rem, 1fr)",
    firstDay: 1,
    hiddenDays: config.hiddenDays,
    slotMinTime: config.slotMinTime,
    slotMaxTime: config.slotMaxTime,
    flexibleSlotTimeLimits: true, // a booking stranded outside the hours stays visible
    slotDuration: "00:15",
    slotLabelInterval: "01:00",
    scrollTime: config.slotMinTime,
    allDaySlot: false,
    nowIndicator: true,
    height: "auto",
    locale: "en-GB",
    slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    dayHeaderFormat: { weekday: "short", day: "numeric", month: "short" },
    editable: false, // each event says whether it can move (upcoming, in the future)
    eventContent: content,
    // Colour by kind, border by state, a hatched red edge when stranded (static/css/app.css).
    eventClassNames: (info) => {
      const props = info.event.extendedProps || {};
      if (info.event.display === "background") return [];
      const classes = [`appt-kind-${props.kind}`, `appt-state-${String(props.state).replace("_", "-")}`];
      if (props.stranded) classes.push("appt-stranded");
      return classes;
    },
    eventDidMount: (info) => {
      const props = info.event.extendedProps || {};
      if (info.event.display !== "background") {
        info.el.setAttribute(
          "aria-label",
          `${info.timeText} ${info.event.title}, ${config.kinds[props.kind]}, ${config.states[props.state]}` +
            (props.stranded ? ", outside hours" : ""),
        );
      }
    },
    noEventsContent: "No appointments in these days.",
    eventDrop: (info) => {
      const fields = info.newResource ? { resource: info.newResource.id } : {};
      send(info, fields, "move");
    },
    eventResize: (info) => send(info, {}, "change of length"),
    datesSet: (info) => {
      const day = localIso(info.start).slice(0, 10);
      const views = {
        resourceTimeGridDay: "day",
        resourceTimeGridWeek: "week",
        listWeek: "agenda",
      };
      const view = views[info.view.type] || "day";
      const params = new URLSearchParams(window.location.search);
      params.set("date", day);
      params.set("view", view);
      window.history.replaceState(null, "", `${window.location.pathname}?${params}`);
      if (filterForm) {
        filterForm.elements.date.value = day;
        filterForm.elements.view.value = view;
      }
      if (plainLink) {
        const plain = new URL(plainLink.href, window.location.href);
        plain.searchParams.set("date", day);
        plain.searchParams.set("view", view === "day" ? "day" : "week");
        plainLink.href = `${plain.pathname}?${plain.searchParams}`;
      }
    },
  });
})();
