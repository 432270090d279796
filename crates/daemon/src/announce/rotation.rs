//! What a DNS probe asks each round, and the round's verdict. A probe asks one question per
//! round, turning through the cloud's zones (SOA) and its probe names; a wrong answer for
//! one of them is remembered until that question is answered right again, so an instance
//! that lost one zone of several fails every round rather than every other one (a passing
//! round would otherwise reset the failure count and the check would never go down). A
//! round with no answer at all (timeout, socket error) fails alone: it is noise or a dead
//! instance, which every question shows anyway. Pure: no I/O.

use std::collections::BTreeMap;

use health::Cause;

/// One question a probe asks.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Question {
    /// The name (wire form, lower case).
    pub(super) name: Vec<u8>,
    /// The type asked.
    pub(super) qtype: u16,
    /// What the answer must show.
    pub(super) kind: QuestionKind,
}

/// What an answer to a [`Question`] must show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum QuestionKind {
    /// A zone's SOA, with the serial loaded here (or only AA + NOERROR for a third-party
    /// server).
    ZoneSerial,
    /// A configured probe name: AA, NOERROR and at least one record of the type.
    Answer,
}

/// The turn and the remembered wrong answers of one probe.
#[derive(Debug, Default)]
pub(super) struct Rotation {
    next: usize,
    /// Ordered, so the cause reported with several questions failing is a stable one.
    failing: BTreeMap<Question, Cause>,
}

impl Rotation {
    /// The question of this round among `questions` (the live ones: an expired zone is
    /// left out by the caller); `None` when there are none (then only liveness is probed).
    /// Wrong answers remembered for questions no longer asked are forgotten.
    pub(super) fn next(&mut self, questions: &[Question]) -> Option<Question> {
        self.failing.retain(|q, _| questions.contains(q));
        if questions.is_empty() {
            return None;
        }
        let question = questions[self.next % questions.len()].clone();
        self.next = self.next.wrapping_add(1);
        Some(question)
    }

    /// The round's verdict from the answer to `question`: a wrong answer to any question
    /// still remembered fails the round.
    pub(super) fn verdict(
        &mut self,
        question: Option<&Question>,
        result: Result<(), Cause>,
    ) -> Result<(), Cause> {
        match (question, result) {
            (_, Err(cause @ (Cause::Timeout | Cause::Io(_) | Cause::Refused))) => {
                return Err(cause);
            }
            (Some(question), Ok(())) => {
                self.failing.remove(question);
            }
            (Some(question), Err(cause)) => {
                self.failing.insert(question.clone(), cause);
            }
            (None, result) => return result,
        }
        match self.failing.values().next() {
            Some(cause) => Err(*cause),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &[u8]) -> Question {
        Question {
            name: name.to_vec(),
            qtype: 6,
            kind: QuestionKind::ZoneSerial,
        }
    }

    #[test]
    fn a_wrong_answer_for_one_zone_fails_every_round_until_it_is_right() {
        let (a, b) = (zone(b"\x01a\x00"), zone(b"\x01b\x00"));
        let both = [a.clone(), b.clone()];
        let mut rotation = Rotation::default();
        let refused = Cause::Rcode(5);
        let mut verdicts = Vec::new();
        for _ in 0..4 {
            let q = rotation.next(&both).unwrap();
            let result = if q == b { Err(refused) } else { Ok(()) };
            verdicts.push(rotation.verdict(Some(&q), result));
        }
        assert_eq!(verdicts, [Ok(()), Err(refused), Err(refused), Err(refused)]);
        // b answered right again: the rounds pass.
        assert_eq!(rotation.next(&both), Some(a.clone()));
        assert_eq!(rotation.verdict(Some(&a), Ok(())), Err(refused));
        assert_eq!(rotation.next(&both), Some(b.clone()));
        assert_eq!(rotation.verdict(Some(&b), Ok(())), Ok(()));
    }

    #[test]
    fn silence_fails_one_round_and_is_not_remembered() {
        let a = zone(b"\x01a\x00");
        let mut rotation = Rotation::default();
        let q = rotation.next(std::slice::from_ref(&a));
        assert_eq!(
            rotation.verdict(q.as_ref(), Err(Cause::Timeout)),
            Err(Cause::Timeout)
        );
        let q = rotation.next(std::slice::from_ref(&a));
        assert_eq!(rotation.verdict(q.as_ref(), Ok(())), Ok(()));
    }

    #[test]
    fn a_question_no_longer_asked_is_forgotten() {
        let (a, b) = (zone(b"\x01a\x00"), zone(b"\x01b\x00"));
        let mut rotation = Rotation::default();
        rotation.next(&[a.clone(), b.clone()]);
        rotation.next(&[a.clone(), b.clone()]);
        assert!(rotation.verdict(Some(&b), Err(Cause::Rcode(5))).is_err());
        // b expired (or was removed by a reload): only a is asked, and it passes.
        let q = rotation.next(std::slice::from_ref(&a));
        assert_eq!(rotation.verdict(q.as_ref(), Ok(())), Ok(()));
        assert_eq!(rotation.next(&[]), None);
        assert_eq!(rotation.verdict(None, Ok(())), Ok(()));
    }
}
