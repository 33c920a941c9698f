// The day picker of the day pages: previous / next recorded day and a date field; it changes
// the route, so a day is a link (#/solar/2026-06-21) that can be shared or bookmarked.

import { esc } from "./api.js";

/** The day to show: the route's, else the latest recorded day, else today. */
export function chosenDay(route, status) {
  if (route.date) return route.date;
  return status.days.length ? status.days[status.days.length - 1] : status.today;
}

/** The picker's HTML for `date` among the recorded `days`. */
export function pickerHtml(date, days) {
  const i = days.indexOf(date);
  const prev = i > 0 ? days[i - 1] : days.filter((d) => d < date).pop();
  const next = i >= 0 ? days[i + 1] : days.find((d) => d > date);
  return `<span class="picker">
    <button type="button" data-day="${esc(prev || "")}" ${prev ? "" : "disabled"} aria-label="previous day">◀</button>
    <input type="date" value="${esc(date)}" min="${esc(days[0] || date)}" max="${esc(days[days.length - 1] || date)}" aria-label="day">
    <button type="button" data-day="${esc(next || "")}" ${next ? "" : "disabled"} aria-label="next day">▶</button>
  </span>`;
}

/** Wire the picker in `root` to route to `#/<page>/<day>`. */
export function wirePicker(root, page) {
  for (const b of root.querySelectorAll(".picker button")) {
    b.addEventListener("click", () => b.dataset.day && (location.hash = `#/${page}/${b.dataset.day}`));
  }
  const input = root.querySelector(".picker input");
  input?.addEventListener("change", () => input.value && (location.hash = `#/${page}/${input.value}`));
}
