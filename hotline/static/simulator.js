// The phone simulator: each phone posts to /simulator (which signs and forwards to the real
// webhooks) and polls its inbox for what the hotline sent it.
"use strict";

(function () {
  const POLL_MS = 1000;

  function bubble(screen, text, kind) {
    const p = document.createElement("p");
    p.className = "bubble " + kind;
    p.textContent = text;
    screen.appendChild(p);
    screen.scrollTop = screen.scrollHeight;
  }

  async function post(path, payload) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    if (!response.ok) throw new Error("HTTP " + response.status);
    return response.json();
  }

  for (const phone of document.querySelectorAll(".phone")) {
    const screen = phone.querySelector(".screen");
    const who = phone.dataset.officerId ? { officer_id: phone.dataset.officerId } : { number: phone.dataset.number };
    let last = 0;

    // Only what arrives after the page opened: older texts belong to earlier sessions.
    async function poll(show) {
      try {
        const query = new URLSearchParams({ ...who, after: String(last) });
        const response = await fetch("/simulator/inbox?" + query, { cache: "no-store" });
        if (response.ok) {
          const data = await response.json();
          if (show) for (const m of data.messages) bubble(screen, m.text, "in");
          last = data.last;
        }
      } catch (error) {
        /* the hotline restarted: try again on the next tick */
      }
      setTimeout(() => poll(true), POLL_MS);
    }
    poll(false);

    phone.querySelector("form.compose").addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = event.target.elements.body;
      const body = input.value;
      input.value = "";
      bubble(screen, body, "out");
      try {
        const data = await post("/simulator/text", { ...who, body });
        for (const reply of data.replies) bubble(screen, reply, "in");
      } catch (error) {
        bubble(screen, "(not delivered: " + error.message + ")", "call");
      }
    });

    const callButton = phone.querySelector("button.call");
    if (!callButton) continue;
    const hangup = phone.querySelector("button.hangup");
    const keypad = phone.querySelector(".keypad");
    let call = null;

    function show(data) {
      for (const line of data.say) if (line) bubble(screen, line, "call");
      if (data.error) bubble(screen, "(call failed: " + data.error + ")", "call");
      if (data.ended) {
        bubble(screen, "(call ended)", "call");
        call = null;
      } else {
        call = { call_sid: data.call_sid, action: data.action };
      }
      keypad.hidden = hangup.hidden = !call;
      callButton.hidden = Boolean(call);
    }

    callButton.addEventListener("click", async () => {
      bubble(screen, "(calling the hotline)", "call");
      try {
        show(await post("/simulator/call", { ...who }));
      } catch (error) {
        show({ say: [], ended: true, error: error.message });
      }
    });
    hangup.addEventListener("click", () => show({ say: [], ended: true }));
    keypad.addEventListener("click", async (event) => {
      const key = event.target.dataset.key;
      if (!key || !call) return;
      bubble(screen, key, "out");
      try {
        show(await post("/simulator/call", { ...who, ...call, digits: key }));
      } catch (error) {
        show({ say: [], ended: true, error: error.message });
      }
    });
  }
})();
