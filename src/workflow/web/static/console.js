// The console's three partial updates (the audit's verification and its progress, an item's
// state at a past moment), written for this console. No code is ever taken from the page: no
// eval, no Function, no inline handler, no script in a fetched fragment runs (a <template>'s
// content is inert). So the content security policy needs neither 'unsafe-eval' nor
// 'unsafe-inline', and every page works without this file (plain forms and links).
//
//   <form data-partial-target="#id" [data-partial-url="/path"] [data-partial-on="change submit"]>
//     sends the form (GET as a query, POST as a form body, CSRF field included) and puts the
//     answer inside the target;
//   <div data-poll-url="/path" data-poll-delay="700">
//     is replaced, after the delay, by what the path answers.
// Requests carry "X-Partial: 1": the server then answers with the fragment, not the page.
"use strict";
(function () {
  function sameOrigin(url) {
    return new URL(url, location.href).origin === location.origin;
  }

  async function fragment(url, init) {
    if (!sameOrigin(url)) throw new Error("another origin");
    const answer = await fetch(url, Object.assign(
      { credentials: "same-origin", headers: { "X-Partial": "1" } }, init));
    if (!answer.ok) throw new Error(String(answer.status));
    const holder = document.createElement("template");
    holder.innerHTML = await answer.text();
    return holder.content;
  }

  function once(element) {
    if (element.dataset.wired) return false;
    element.dataset.wired = "1";
    return true;
  }

  function wireForm(form) {
    const target = document.querySelector(form.dataset.partialTarget);
    const url = form.dataset.partialUrl || form.action;
    if (!target || !once(form)) return;
    async function send(event) {
      if (event.type === "submit") event.preventDefault();
      let content;
      try {
        if (form.method.toLowerCase() === "post") {
          content = await fragment(url, { method: "POST", body: new FormData(form) });
        } else {
          const query = new URL(url, location.href);
          query.search = new URLSearchParams(new FormData(form)).toString();
          content = await fragment(query.href);
        }
      } catch (error) {
        if (event.type === "submit") form.submit();  // the whole page, as without this file
        return;
      }
      target.replaceChildren(content);
      wire(target);
    }
    for (const kind of (form.dataset.partialOn || "submit").split(" ")) {
      form.addEventListener(kind, send);
    }
  }

  function wirePoll(element) {
    if (!once(element)) return;
    setTimeout(async function () {
      const parent = element.parentNode;
      try {
        element.replaceWith(await fragment(element.dataset.pollUrl));
      } catch (error) {
        return;  // the <noscript> link stays the way on
      }
      if (parent) wire(parent);
    }, Number(element.dataset.pollDelay || 1000));
  }

  function wire(root) {
    root.querySelectorAll("form[data-partial-target]").forEach(wireForm);
    root.querySelectorAll("[data-poll-url]").forEach(wirePoll);
  }

  document.addEventListener("DOMContentLoaded", function () { wire(document); });
})();
