"""A survey: one surveyor asks, every respondent answers.

The surveyor takes answers for ``survey_time`` milliseconds; after that its
recv raises Timeout, which ends the survey.  A respondent that answers late
is ignored.
"""
import threading
import time

import pynng_core

RESPONDENTS = ["alpha", "bravo", "charlie"]


def respond(name: str, respondent: pynng_core.Respondent0) -> None:
    question = respondent.recv()
    respondent.send(b"%s: %s" % (name.encode(), b"yes" if question == b"ready?" else b"?"))


with pynng_core.Surveyor0(survey_time=300) as surveyor:
    listener = surveyor.listen("tcp://127.0.0.1:0")  # port 0: the system picks one
    address = "tcp://127.0.0.1:%d" % listener.port
    respondents = [pynng_core.Respondent0(dial=address) for _ in RESPONDENTS]
    threads = [threading.Thread(target=respond, args=(name, respondent))
               for name, respondent in zip(RESPONDENTS, respondents)]
    for thread in threads:
        thread.start()
    # A survey goes to the respondents connected when it is sent.
    while len(surveyor.pipes) < len(RESPONDENTS):
        time.sleep(0.01)

    surveyor.send(b"ready?")
    answers = []
    while True:
        try:
            answers.append(surveyor.recv().decode())
        except pynng_core.Timeout:  # the survey is over
            break
    for thread in threads:
        thread.join()
    for respondent in respondents:
        respondent.close()

for answer in sorted(answers):
    print(answer)
print("%d of %d answered" % (len(answers), len(RESPONDENTS)))
