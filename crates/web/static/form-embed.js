// Okno's web form for a firm's site: <div data-okno-form></div> and this script from the
// desk. The form posts to the desk that served the script; without JavaScript, link to
// <desk>/form instead. The site's origin must be listed in the desk's channel settings.
(function () {
  "use strict";
  var script = document.currentScript;
  var desk = new URL(script.src).origin;
  var lang = (document.documentElement.lang || "ru").slice(0, 2) === "en" ? "en" : "ru";
  var text = {
    ru: { name: "Имя", email: "Эл. почта", phone: "Телефон", subject: "Тема", message: "Сообщение",
          send: "Отправить", sent: "Спасибо! Обращение принято, подтверждение придёт на почту.",
          failed: "Не удалось отправить: " },
    en: { name: "Name", email: "Email", phone: "Phone", subject: "Subject", message: "Message",
          send: "Send", sent: "Thank you! Your request is in; a confirmation is on its way by email.",
          failed: "Not sent: " }
  }[lang];
  function field(form, name, type, label) {
    var id = "okno-" + name + "-" + Math.random().toString(36).slice(2);
    var l = document.createElement("label");
    l.htmlFor = id;
    l.textContent = label;
    var input = document.createElement(type === "textarea" ? "textarea" : "input");
    if (type !== "textarea") input.type = type;
    input.id = id;
    input.name = name;
    form.appendChild(l);
    form.appendChild(input);
    return input;
  }
  document.querySelectorAll("[data-okno-form]").forEach(function (place) {
    var form = document.createElement("form");
    form.className = "okno-form";
    field(form, "name", "text", text.name);
    field(form, "email", "email", text.email);
    field(form, "phone", "tel", text.phone);
    var trap = field(form, "website", "text", "Website");
    trap.tabIndex = -1;
    trap.autocomplete = "off";
    trap.previousSibling.style.display = "none";
    trap.style.display = "none";
    field(form, "subject", "text", text.subject).required = true;
    field(form, "message", "textarea", text.message);
    var button = document.createElement("button");
    button.type = "submit";
    button.textContent = text.send;
    form.appendChild(button);
    var note = document.createElement("p");
    note.setAttribute("role", "status");
    form.appendChild(note);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = new URLSearchParams(new FormData(form));
      body.set("lang", lang);
      button.disabled = true;
      fetch(desk + "/form", { method: "POST", body: body, headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          if (answer.ok) {
            form.reset();
            note.textContent = text.sent;
          } else {
            note.textContent = text.failed + answer.message;
          }
        })
        .catch(function (e) { note.textContent = text.failed + e; })
        .finally(function () { button.disabled = false; });
    });
    place.appendChild(form);
  });
})();
