// The sergeant's board: polls board.json, redraws the rows, and cues new requests, danger alerts
// and a lost connection with banners (and tones, once sound is on) that stay until acknowledged.
"use strict";

(function () {
  const board = document.getElementById("board");
  if (!board) return;
  const $ = (id) => document.getElementById(id);
  const source = board.dataset.source;
  const pollMs = Math.max(1, Number(board.dataset.poll) || 5) * 1000;
  const rowsEl = $("rows");
  const soundButton = $("sound");
  const baseTitle = document.title;
  // What the sergeant has not acknowledged yet survives every refresh (and a reload of the tab).
  const store = window.sessionStorage;
  const remembered = (key) => new Set(JSON.parse(store.getItem(key) || "[]"));
  const remember = (key, set) => store.setItem(key, JSON.stringify([...set]));
  let known = new Set(Array.from(rowsEl.querySelectorAll("tr[data-ref]"), (tr) => tr.dataset.ref));
  let urgentKnown = new Set(Array.from(rowsEl.querySelectorAll("tr.urgent"), (tr) => tr.dataset.ref));
  let alertsSeen = remembered("board.alertsSeen");
  if (!store.getItem("board.alertsSeen")) {
    // First visit this shift: the alerts already listed are old news, not a new alarm.
    alertsSeen = new Set(Array.from(document.querySelectorAll("#alert-list li[data-alert]"), (li) => li.dataset.alert));
    remember("board.alertsSeen", alertsSeen);
  }
  let lastGood = board.dataset.updated;
  let failingSince = null;
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
    gain.gain.value = 0.3;
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + seconds);
  }

  // -- banners that stay until "Got it" --------------------------------------------------------

  function showNew() {
    const pending = remembered("board.newRefs");
    $("new-banner").hidden = pending.size === 0;
    $("new-text").textContent = pending.size
      ? (pending.size === 1 ? "New request: " : "New requests: ") + [...pending].join(", ")
      : "";
  }

  function showDanger() {
    const pending = JSON.parse(store.getItem("board.danger") || "[]");
    $("danger-banner").hidden = pending.length === 0;
    $("danger-text").textContent = pending.length ? "Alert: " + pending.join(" | ") : "";
  }

  $("new-ack").addEventListener("click", () => {
    store.removeItem("board.newRefs");
    showNew();
  });
  $("danger-ack").addEventListener("click", () => {
    store.removeItem("board.danger");
    showDanger();
  });

  // -- drawing ---------------------------------------------------------------------------------

  function cell(label, text) {
    const td = document.createElement("td");
    td.dataset.label = label;
    if (text !== undefined) td.textContent = text;
    return td;
  }

  function span(className, text) {
    const s = document.createElement("span");
    s.className = className;
    s.textContent = text;
    return s;
  }

  function drawRows(dispatches, fresh) {
    const body = document.createDocumentFragment();
    for (const d of dispatches) {
      const tr = document.createElement("tr");
      tr.dataset.ref = d.ref;
      if (d.unanswered) tr.classList.add("unanswered");
      if (d.urgent) tr.classList.add("urgent");
      if (d.flags.length) tr.classList.add("flagged");
      if (fresh.includes(d.ref)) tr.classList.add("new");
      const link = document.createElement("a");
      link.href = d.url;
      link.textContent = d.ref;
      const refCell = cell("Ref");
      refCell.appendChild(link);
      const stateCell = cell("State");
      stateCell.appendChild(span("state " + d.status, d.status_label));
      const flagCell = cell("Flags");
      const flagList = document.createElement("div");
      flagList.className = "flags";
      for (const f of d.flags) flagList.appendChild(span("flag " + f.name, f.label));
      flagList.appendChild(span("lang", d.language));
      flagCell.appendChild(flagList);
      const age = cell("Age", d.age_minutes + " min ");
      age.appendChild(span("hint", "since " + d.created));
      tr.append(
        refCell,
        cell("Kind", d.kind),
        stateCell,
        flagCell,
        age,
        cell("Officer", d.officer || "-"),
        cell("Deadline", d.deadline || "-"),
        cell("Meet", d.meet || "-"),
      );
      body.appendChild(tr);
    }
    rowsEl.replaceChildren(body);
  }

  function drawAlerts(alerts) {
    const list = document.createDocumentFragment();
    for (const a of alerts) {
      const li = document.createElement("li");
      li.dataset.alert = a.id;
      if (a.danger) {
        li.className = "danger";
        li.append(span("flag alert", a.danger), " ");
      }
      const time = document.createElement("time");
      time.textContent = a.at;
      li.append(time, " " + a.text);
      list.appendChild(li);
    }
    $("alert-list").replaceChildren(list);
    $("no-alerts").hidden = alerts.length > 0;
  }

  function drawPeople(people) {
    for (const p of people) {
      const li = document.querySelector('#people li[data-officer="' + p.id + '"]');
      if (!li) continue;
      const status = li.querySelector("[data-status]");
      status.textContent = p.status;
      status.className = "duty " + (p.on_duty ? "on" : "off");
      // Someone may have texted ON or OFF since the page was drawn: the button offers the change.
      li.querySelector("input[name=on_duty]").value = p.on_duty ? "0" : "1";
      li.querySelector("button").firstChild.textContent = p.on_duty ? "Put off duty" : "Put on duty";
    }
  }

  function render(data) {
    const fresh = data.dispatches.map((d) => d.ref).filter((ref) => !known.has(ref));
    drawRows(data.dispatches, fresh);
    drawAlerts(data.alerts);
    drawPeople(data.people);
    $("open-count").textContent = String(data.dispatches.length);
    $("empty").hidden = data.dispatches.length > 0;
    $("on-duty").textContent = data.on_duty.join(", ") || "nobody";
    $("updated").textContent = "Updated " + data.updated;

    if (fresh.length) {
      const pending = remembered("board.newRefs");
      fresh.forEach((ref) => pending.add(ref));
      remember("board.newRefs", pending);
      beep(880, 0.25);
    }
    showNew();

    const newDanger = data.alerts.filter((a) => a.danger && !alertsSeen.has(String(a.id)));
    data.alerts.forEach((a) => alertsSeen.add(String(a.id)));
    remember("board.alertsSeen", alertsSeen);
    if (newDanger.length) {
      const pending = JSON.parse(store.getItem("board.danger") || "[]");
      newDanger.forEach((a) => pending.push(a.danger + " at " + a.at + ": " + a.text));
      store.setItem("board.danger", JSON.stringify(pending));
      beep(520, 0.8);
    }
    showDanger();

    const urgentNow = new Set(data.dispatches.filter((d) => d.urgent).map((d) => d.ref));
    const newlyUrgent = [...urgentNow].filter((ref) => !urgentKnown.has(ref));
    const nobody = $("alert-banner");
    if (urgentNow.size) {
      nobody.textContent = "Nobody accepted: " + [...urgentNow].join(", ") + ". Assign an officer.";
      nobody.hidden = false;
      if (newlyUrgent.length) beep(440, 0.6);
    } else {
      nobody.hidden = true;
    }
    const unanswered = data.dispatches.filter((d) => d.unanswered).length;
    document.title = (unanswered ? "(" + unanswered + ") " : "") + baseTitle;
    known = new Set(data.dispatches.map((d) => d.ref));
    urgentKnown = urgentNow;
  }

  function offline(reason) {
    failingSince = failingSince || new Date();
    const since = failingSince.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    $("offline-text").textContent =
      reason + " since " + since + " (this computer's clock). Last good update: " + lastGood + ".";
    $("offline-banner").hidden = false;
    board.classList.add("stale");
    $("updated").textContent = "Not updating";
    document.title = "NO CONNECTION - " + baseTitle;
    beep(300, 0.5);
  }

  function online() {
    failingSince = null;
    $("offline-banner").hidden = true;
    board.classList.remove("stale");
  }

  async function poll() {
    try {
      const response = await fetch(source, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.status === 401) {
        window.location.reload(); // the session ended: show the sign-in page
        return;
      }
      if (response.ok) {
        const data = await response.json();
        online();
        lastGood = data.updated;
        render(data);
      } else {
        offline("The board's server gave an error (HTTP " + response.status + ")");
      }
    } catch (error) {
      offline("No answer from the board's server");
    }
    setTimeout(poll, pollMs);
  }
  showNew();
  showDanger();
  setTimeout(poll, pollMs);
})();
