// Revoke impact: what withdrawing a licence (or a talent's every agreement) touches, and the plan.
// A dry run changes nothing; applying needs an admin token and a second, explicit click.
import { api } from "../api.js";
import { entityLink, errorBox, h, show } from "../dom.js";

function impactView(impact) {
  const groups = Object.entries(impact.impact);
  return h("div", { class: "impact", id: "impact", dataset: { applied: String(impact.applied) } },
    h("p", { class: impact.applied ? "verdict yes" : "verdict", id: "impact-state" },
      impact.applied ? "Revoked: " : "Would revoke (dry run): ",
      impact.licenses.map((l, i) => [i ? ", " : "", entityLink(l)])),
    impact.talent ? h("p", {}, "talent: ", entityLink(impact.talent)) : null,
    h("p", {}, `${impact.affected_sources} source asset(s) affected`),
    groups.length ? null : h("p", { class: "muted" }, "nothing downstream is affected"),
    groups.map(([group, entities]) =>
      h("details", { class: "impact-group", dataset: { group }, open: true },
        h("summary", {}, `${group}: ${entities.length}`),
        h("ul", {}, entities.map((e) => h("li", {}, entityLink(e)))))),
    h("h3", {}, "Retrain plan"),
    h("ul", { id: "plan" },
      impact.plan.datasets.map((d) => h("li", {}, "new dataset version ", d.proposed, ` (keeps ${d.keep}) from `, d.version.label)),
      impact.plan.runs.map((r) => h("li", {}, "repeat ", r.run.label, " with the same params on the new versions")),
      impact.plan.block.map((b) => h("li", { class: "blocked" }, impact.applied ? "blocked " : "would block ", b.label))));
}

export function revokeView(entity) {
  const reason = h("input", { id: "revoke-reason", type: "text", placeholder: "why (recorded)", "aria-label": "Reason" });
  const result = h("div", { id: "revoke-result" });
  const apply = h("button", { type: "button", id: "revoke-apply", class: "danger", disabled: true }, "Apply revocation…");
  let armed = false;

  async function run(dryRun) {
    try {
      const impact = await api.revoke(entity.id, reason.value, dryRun);
      show(result, impactView(impact));
      apply.disabled = impact.applied;
    } catch (error) {
      show(result, errorBox(error));
    }
  }

  apply.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      apply.textContent = "Confirm: revoke and block";
      return;
    }
    armed = false;
    apply.textContent = "Apply revocation…";
    await run(false);
  });
  const dry = h("button", { type: "button", id: "revoke-dry-run", onclick: () => { armed = false; apply.disabled = false; return run(true); } }, "Show impact (dry run)");
  return h("section", { class: "panel", id: "revoke" },
    h("h2", {}, "Revoke ", entityLink(entity)),
    h("p", { class: "muted" }, "Withdraws consent: the licence stops granting anything from its date; affected model versions are blocked."),
    h("div", { class: "toolbar" }, reason, dry, apply),
    result);
}
