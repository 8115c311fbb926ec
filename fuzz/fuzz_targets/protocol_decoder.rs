//! Fuzzes the external-handler protocol decoder: framing and message parsing over arbitrary
//! bytes. It must never panic, must report an oversized line without keeping it, and must
//! decode the same messages however the bytes are split into reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use synccenter::handlers::external::protocol::{DecodeError, FrameDecoder, Message};

fn decode(chunks: &[&[u8]], limit: usize) -> Vec<Result<Message, DecodeError>> {
    let mut decoder = FrameDecoder::new(limit);
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk, &mut |m| out.push(m));
    }
    decoder.finish(&mut |m| out.push(m));
    out
}

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose the size limit and where the reads are split.
    let [limit_byte, split_byte, bytes @ ..] = data else {
        return;
    };
    let limit = 8 + usize::from(*limit_byte) * 8;
    let whole = decode(&[bytes], limit);
    let step = 1 + usize::from(*split_byte);
    let chunks: Vec<&[u8]> = bytes.chunks(step).collect();
    assert_eq!(decode(&chunks, limit), whole, "split every {step} bytes");
    for message in &whole {
        match message {
            Err(DecodeError::NotJson { excerpt }) | Err(DecodeError::NotJsonRpc { excerpt, .. }) => {
                assert!(excerpt.chars().count() <= 80);
            }
            Err(DecodeError::TooLarge { limit: reported }) => assert_eq!(*reported, limit),
            Ok(_) => {}
        }
    }
});
