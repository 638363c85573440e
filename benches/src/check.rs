//! Agreement checks run before anything is timed: every implementation must accept every frame
//! of a corpus and read the same content, so no benchmark ever times an error path.

use crate::corpus::Corpus;
use crate::doc::{json_approx_eq, to_json_value, Doc, DocItem};
use crate::{reference, warp};
use warp_proto::envelope::Envelope;
use warp_proto::recon::Value;

/// The node and lane URIs of an envelope tree (the `node` and `lane` slots of its first
/// attribute).
pub fn header_of(doc: &Doc) -> Option<(&str, &str)> {
    let Doc::Record(items) = doc else { return None };
    let Some(DocItem::Attr(_, Doc::Record(args))) = items.first() else {
        return None;
    };
    let find = |key: &str| {
        args.iter().find_map(|a| match a {
            DocItem::Slot(k, Doc::Text(v)) if k == key => Some(v.as_str()),
            _ => None,
        })
    };
    Some((find("node")?, find("lane")?))
}

fn fail(corpus: &Corpus, i: usize, what: &str) -> String {
    let frame = corpus.frames.get(i).map(String::as_str).unwrap_or("");
    let shown: String = frame.chars().take(160).collect();
    format!("corpus {} frame {i}: {what}\n  frame: {shown}", corpus.name)
}

/// Checks the reference implementations on `corpus`: `swimos_recon` reads every frame to the
/// generated content and reads its own printed output back to the same value,
/// `swimos_messages` peels every header to the right node and lane, and `serde_json` reads
/// every JSON frame to the expected value.
pub fn check_references(corpus: &Corpus) -> Result<(), String> {
    let mut printed = String::new();
    for (i, ((frame, json), doc)) in corpus
        .frames
        .iter()
        .zip(&corpus.json)
        .zip(&corpus.docs)
        .enumerate()
    {
        let value = reference::swimos_parse(frame)
            .map_err(|e| fail(corpus, i, &format!("swimos_recon rejects it: {e}")))?;
        match reference::swimos_to_doc(&value) {
            Some(d) if d.approx_eq(doc) => {}
            other => {
                return Err(fail(
                    corpus,
                    i,
                    &format!("swimos_recon reads {other:?}, expected {doc:?}"),
                ))
            }
        }
        printed.clear();
        reference::swimos_print(&value, &mut printed);
        match reference::swimos_parse(&printed) {
            Ok(back) if back == value => {}
            _ => {
                return Err(fail(
                    corpus,
                    i,
                    &format!("swimos_recon does not read back its output {printed}"),
                ))
            }
        }
        if let Some((node, lane)) = header_of(doc) {
            match reference::swimos_peel(frame) {
                Some((n, l, _)) if n == node && l == lane => {}
                other => {
                    return Err(fail(
                        corpus,
                        i,
                        &format!("swimos_messages peels {other:?}, expected {node} {lane}"),
                    ))
                }
            }
            let body = reference::swimos_peel_and_body(frame)
                .ok_or_else(|| fail(corpus, i, "swimos_recon rejects the peeled body"))?;
            let same = match (reference::swimos_to_doc(&body), body_of(doc)) {
                // swimos_recon reads an empty body as Extant (it has no Absent).
                (Some(Doc::Extant), None) => true,
                (Some(b), Some(d)) => b.approx_eq(&d),
                _ => false,
            };
            if !same {
                return Err(fail(
                    corpus,
                    i,
                    &format!("swimos_recon reads the body as {body:?}"),
                ));
            }
        }
        let j = reference::json_parse_value(json)
            .map_err(|e| fail(corpus, i, &format!("serde_json rejects {json}: {e}")))?;
        if !json_approx_eq(&j, &to_json_value(doc)) {
            return Err(fail(corpus, i, &format!("serde_json reads {j}")));
        }
        reference::json_parse_ignored(json)
            .map_err(|e| fail(corpus, i, &format!("serde_json (IgnoredAny) rejects: {e}")))?;
    }
    Ok(())
}

/// The body of an envelope tree by the envelope body rule: the items after the tag; none is
/// `None` (Absent), one plain value is that value, otherwise a record of the items.
pub fn body_of(doc: &Doc) -> Option<Doc> {
    let Doc::Record(items) = doc else { return None };
    match items.get(1..) {
        None | Some([]) => None,
        Some([DocItem::Value(v)]) => Some(v.clone()),
        Some(rest) => Some(Doc::Record(rest.to_vec())),
    }
}

/// Checks `warp-proto` on `corpus`: the pull reader drains every frame without error,
/// `Value::parse` reads the generated content, the writer's output reads back to the same
/// value; `Envelope::decode_header` and `Envelope::decode` read the right node and lane, the
/// body reads as the expected value, and an encoded envelope decodes back to the same one.
pub fn check_warp(corpus: &Corpus) -> Result<(), String> {
    let mut printed = String::new();
    for (i, (frame, doc)) in corpus.frames.iter().zip(&corpus.docs).enumerate() {
        let events = warp::drain_events(frame)
            .map_err(|e| fail(corpus, i, &format!("warp Reader fails: {e}")))?;
        if events < 2 {
            return Err(fail(
                corpus,
                i,
                &format!("warp Reader yields {events} events"),
            ));
        }
        let value = warp::parse_value(frame)
            .map_err(|e| fail(corpus, i, &format!("warp Value::parse fails: {e}")))?;
        match warp::value_to_doc(&value) {
            Some(d) if d.approx_eq(doc) => {}
            other => {
                return Err(fail(
                    corpus,
                    i,
                    &format!("warp Value::parse reads {other:?}, expected {doc:?}"),
                ))
            }
        }
        printed.clear();
        warp::write_value(&value, &mut printed);
        match warp::parse_value(&printed) {
            Ok(back) if back == value => {}
            other => {
                return Err(fail(
                    corpus,
                    i,
                    &format!("warp does not read back its output {printed}: {other:?}"),
                ))
            }
        }
        check_warp_envelope(corpus, i, frame, doc)?;
    }
    Ok(())
}

fn check_warp_envelope(corpus: &Corpus, i: usize, frame: &str, doc: &Doc) -> Result<(), String> {
    let Some((node, lane)) = header_of(doc) else {
        return Ok(());
    };
    let header = Envelope::decode_header(frame)
        .map_err(|e| fail(corpus, i, &format!("warp decode_header fails: {e}")))?;
    let env = Envelope::decode(frame)
        .map_err(|e| fail(corpus, i, &format!("warp Envelope::decode fails: {e}")))?;
    for (what, e) in [("decode_header", &header), ("decode", &env)] {
        if !(e.node == node && e.lane == lane) {
            return Err(fail(
                corpus,
                i,
                &format!("warp {what} reads node {:?} lane {:?}", e.node, e.lane),
            ));
        }
    }
    let body = env
        .body
        .to_value()
        .map_err(|e| fail(corpus, i, &format!("warp body to_value fails: {e}")))?;
    let expected = body_of(doc);
    let same = match (&body, &expected) {
        (Value::Absent, None) => true,
        (v, Some(d)) => warp::value_to_doc(v).is_some_and(|v| v.approx_eq(d)),
        _ => false,
    };
    if !same {
        return Err(fail(
            corpus,
            i,
            &format!("warp body reads {body:?}, expected {expected:?}"),
        ));
    }
    let mut encoded = String::new();
    env.encode(&mut encoded)
        .map_err(|e| fail(corpus, i, &format!("warp encode fails: {e}")))?;
    match Envelope::decode(&encoded) {
        Ok(back)
            if back.tag == env.tag
                && back.node == env.node
                && back.lane == env.lane
                && back.prio == env.prio
                && back.rate == env.rate
                && back.body.to_value().as_ref() == Ok(&body) => {}
        other => {
            return Err(fail(
                corpus,
                i,
                &format!("warp encode gives {encoded}, which decodes to {other:?}"),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus;

    #[test]
    fn references_read_every_corpus() {
        for c in corpus::all() {
            check_references(&c).unwrap();
        }
    }

    #[test]
    fn warp_reads_every_corpus() {
        for c in corpus::all() {
            check_warp(&c).unwrap();
        }
    }

    #[test]
    fn warp_disagreement_is_caught() {
        let mut c = corpus::small();
        c.frames.truncate(2);
        c.docs.truncate(2);
        c.frames[1] = "@event(node:\"/a\",lane:b) 1".into();
        let e = check_warp(&c).unwrap_err();
        assert!(e.contains("frame 1: warp Value::parse reads"), "{e}");
    }

    #[test]
    fn a_disagreement_is_caught() {
        let mut c = corpus::medium();
        c.frames.truncate(3);
        c.json.truncate(3);
        c.docs.truncate(3);
        c.docs[1] = crate::doc::Doc::Int(1);
        let e = check_references(&c).unwrap_err();
        assert!(e.contains("frame 1: swimos_recon reads"), "{e}");

        let mut c = corpus::medium();
        c.frames.truncate(3);
        c.json.truncate(3);
        c.docs.truncate(3);
        c.json[2].push(']');
        let e = check_references(&c).unwrap_err();
        assert!(e.contains("frame 2: serde_json rejects"), "{e}");
    }
}
