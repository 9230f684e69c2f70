// Keeps the fetches' progress bars current: asks the progress endpoint every second until
// every job on the page has finished.
(function () {
  "use strict";
  const section = document.querySelector("[data-progress-url]");
  if (!section) return;
  const url = section.dataset.progressUrl;

  function setStatus(element, status) {
    element.textContent = status;
    element.className = element.className.replace(/\bstatus-\S+/g, "").trim() + " status-" + status;
  }

  function showStudy(study) {
    const row = section.querySelector('[data-study-id="' + study.id + '"]');
    if (!row) return false;
    row.dataset.finished = String(study.finished);
    setStatus(row.querySelector("[data-status]"), study.status);
    const bar = row.querySelector(".bar");
    bar.setAttribute("aria-valuenow", study.percent);
    bar.querySelector("span").style.width = study.percent + "%";
    row.querySelector("[data-count]").textContent = study.stored + " / " + study.total + " instances" +
      (study.failed ? ", " + study.failed + " failed" : "");
    const errorRow = section.querySelector('[data-error-for="' + study.id + '"]');
    errorRow.querySelector("[data-error]").textContent = study.error;
    errorRow.hidden = !study.error;
    if (study.finished) showArrival(study);
    return true;
  }

  // The priors table above: a study that arrived is here now; one that did not may be fetched again.
  function showArrival(study) {
    const prior = document.querySelector('#priors-table tr[data-study-uid="' + study.uid + '"]');
    const badge = prior && prior.querySelector(".badge.fetching");
    if (!badge) return;
    const button = prior.querySelector("button[name=study]");
    if (study.status === "done" || study.status === "present") {
      badge.className = "badge here";
      badge.textContent = "already here";
      if (button) button.remove();
    } else {
      badge.remove();
      if (button) button.hidden = false;
    }
  }

  function showJob(job) {
    const article = section.querySelector('[data-job-id="' + job.id + '"]');
    if (!article) return false;
    article.dataset.finished = String(job.finished);
    setStatus(article.querySelector("[data-job-status]"), job.status);
    const reason = article.querySelector("[data-job-reason]");
    reason.textContent = job.reason;
    // A failed or partial job's reason repeats its studies' errors, shown beside each study.
    reason.hidden = !job.reason || job.status === "failed" || job.status === "partial";
    return true;
  }

  async function poll() {
    let again = true;
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (answer.ok) {
        const data = await answer.json();
        // A job or study this page does not show yet (started elsewhere): show the page afresh.
        const known = data.jobs.every(showJob) && data.studies.every(showStudy);
        if (!known) {
          window.location.reload();
          return;
        }
        again = data.jobs.some((job) => !job.finished) || data.studies.some((study) => !study.finished);
      }
    } catch (problem) {
      again = true; // the network blinked: try again on the next tick
    }
    if (again) window.setTimeout(poll, 1000);
  }

  if (section.querySelector('[data-finished="false"]')) window.setTimeout(poll, 1000);
})();
