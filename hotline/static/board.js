// The sergeant's board: polls board.json, redraws the rows, and cues new and unanswered requests.
"use strict";

(function () {
  const board = document.getElementById("board");
  if (!board) return;
  const source = board.dataset.source;
  const pollMs = Math.max(1, Number(board.dataset.poll) || 5) * 1000;
  const rowsEl = document.getElementById("rows");
  const banner = document.getElementById("alert-banner");
  const soundButton = document.getElementById("sound");
  const baseTitle = document.title;
  let known = new Set(Array.from(rowsEl.querySelectorAll("tr[data-ref]"), (tr) => tr.dataset.ref));
  let urgentKnown = new Set(Array.from(rowsEl.querySelectorAll("tr.urgent"), (tr) => tr.dataset.ref));
  let audio = null;

  // Browsers only allow sound after a click, so the sergeant turns it on once per shift.
  soundButton.addEventListener("click", () => {
    if (audio) {
      audio.close();
      audio = null;
    } else {
      audio = new AudioContext();
      beep(660, 0.15);
    }
    soundButton.setAttribute("aria-pressed", audio ? "true" : "false");
    soundButton.textContent = audio ? "Sound is on" : "Turn sound on";
  });

  function beep(frequency, seconds) {
    if (!audio) return;
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = frequency;
    gain.gain.value = 0.2;
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + seconds);
  }

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    return td;
  }

  function render(data) {
    const fresh = [];
    const urgentNow = new Set();
    const body = document.createDocumentFragment();
    for (const d of data.dispatches) {
      const tr = document.createElement("tr");
      tr.dataset.ref = d.ref;
      if (d.unanswered) tr.classList.add("unanswered");
      if (d.urgent) {
        tr.classList.add("urgent");
        urgentNow.add(d.ref);
      }
      if (!known.has(d.ref)) {
        tr.classList.add("new");
        fresh.push(d.ref);
      }
      const link = document.createElement("a");
      link.href = d.url;
      link.textContent = d.ref;
      const refCell = document.createElement("td");
      refCell.appendChild(link);
      const state = document.createElement("span");
      state.className = "state " + d.status;
      state.textContent = d.status_label;
      const stateCell = document.createElement("td");
      stateCell.appendChild(state);
      const age = cell(d.age_minutes + " min ");
      const since = document.createElement("span");
      since.className = "hint";
      since.textContent = "since " + d.created;
      age.appendChild(since);
      tr.append(refCell, cell(d.kind), stateCell, age, cell(d.officer || "-"), cell(d.deadline || "-"), cell(d.meet || "-"));
      body.appendChild(tr);
    }
    rowsEl.replaceChildren(body);
    document.getElementById("open-count").textContent = String(data.dispatches.length);
    document.getElementById("empty").hidden = data.dispatches.length > 0;
    document.getElementById("on-duty").textContent = data.on_duty.join(", ") || "nobody";
    document.getElementById("updated").textContent = "Updated " + data.updated;

    const newlyUrgent = [...urgentNow].filter((ref) => !urgentKnown.has(ref));
    const unanswered = data.dispatches.filter((d) => d.unanswered).length;
    if (fresh.length) {
      banner.textContent = "New request: " + fresh.join(", ");
      banner.hidden = false;
      beep(880, 0.25);
    } else if (newlyUrgent.length) {
      banner.textContent = "Nobody accepted: " + newlyUrgent.join(", ") + " - assign an officer";
      banner.hidden = false;
      beep(440, 0.6);
    } else if (!urgentNow.size) {
      banner.hidden = true;
    }
    document.title = (unanswered ? "(" + unanswered + ") " : "") + baseTitle;
    known = new Set(data.dispatches.map((d) => d.ref));
    urgentKnown = urgentNow;
  }

  async function poll() {
    try {
      const response = await fetch(source, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.status === 401) {
        window.location.reload(); // the session ended: show the sign-in page
        return;
      }
      if (response.ok) render(await response.json());
      else document.getElementById("updated").textContent = "Cannot update (HTTP " + response.status + ")";
    } catch (error) {
      document.getElementById("updated").textContent = "Cannot reach the hotline; retrying";
    }
    setTimeout(poll, pollMs);
  }
  setTimeout(poll, pollMs);
})();
