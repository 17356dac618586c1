//! Real sample messages and the mutations the inbound pipeline's property tests feed it:
//! shared by okno-mail's tests (parse → classify → thread) and okno-desk's (the whole
//! pipeline on a store). A bounded, plain `cargo test` companion of the cargo-fuzz target.

#![allow(dead_code)] // each test binary uses its own part

use proptest::prelude::*;

pub const SAMPLES: &[(&str, &[u8])] = &[
    (
        "cp1251-plain",
        include_bytes!("../samples/cp1251-plain.eml"),
    ),
    ("koi8r-reply", include_bytes!("../samples/koi8r-reply.eml")),
    (
        "mixed-html-attachment",
        include_bytes!("../samples/mixed-html-attachment.eml"),
    ),
    ("uuencode", include_bytes!("../samples/uuencode.eml")),
    ("forwarded", include_bytes!("../samples/forwarded.eml")),
    ("auto-reply", include_bytes!("../samples/auto-reply.eml")),
    ("bounce", include_bytes!("../samples/bounce.eml")),
];

/// Fragments that steer mutations into MIME structure rather than plain text.
const FRAGMENTS: &[&[u8]] = &[
    b"\r\n",
    b"\r\n\r\n",
    b"\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n",
    b"\r\n--outer\r\n",
    b"\r\n--outer--\r\n",
    b"\r\nContent-Transfer-Encoding: base64\r\n",
    b"\r\nContent-Transfer-Encoding: quoted-printable\r\n",
    b"=?utf-8?B?0J/RgNC40LLQtdGC?=",
    b"=?windows-1251?Q?=CF=F0=E8?=",
    b"=?koi8-r?B?",
    b"; charset=x-unknown",
    b"; filename*=utf-8''%D1%84",
    b"\r\nbegin 644 x.bin\r\n",
    b"[OK-000001]",
    b"\r\nIn-Reply-To: <okno.1@okno.test>\r\n",
    b"\r\nAuto-Submitted: auto-generated\r\n",
    b"\xd0\xff\xfe\x00",
];

#[derive(Debug, Clone)]
pub enum Mutation {
    /// Replaces the byte at a position.
    Flip(usize, u8),
    /// Removes up to n bytes from a position.
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    /// Cuts the message at a position.
    Truncate(usize),
    /// Repeats up to n bytes from a position right after them.
    Repeat(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let insert = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..24),
        prop::sample::select(FRAGMENTS).prop_map(<[u8]>::to_vec),
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        (any::<usize>(), 0..64usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), insert).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1..400usize).prop_map(|(at, n)| Mutation::Repeat(at, n)),
    ]
}

/// `raw` with the mutations applied in order (positions taken modulo its length).
pub fn apply(raw: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = raw.to_vec();
    for m in mutations {
        let len = out.len();
        let at = |p: usize| if len == 0 { 0 } else { p % (len + 1) };
        match m {
            Mutation::Flip(p, b) if len > 0 => out[p % len] = *b,
            Mutation::Flip(..) => {}
            Mutation::Delete(p, n) => {
                let from = at(*p);
                out.drain(from..(from + n).min(len));
            }
            Mutation::Insert(p, bytes) => {
                let from = at(*p);
                out.splice(from..from, bytes.iter().copied());
            }
            Mutation::Truncate(p) => out.truncate(at(*p)),
            Mutation::Repeat(p, n) => {
                let from = at(*p);
                let chunk = out[from..(from + n).min(len)].to_vec();
                out.splice(from..from, chunk);
            }
        }
    }
    out
}

/// A sample message with up to eight mutations.
pub fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(SAMPLES),
        prop::collection::vec(mutation(), 0..8),
    )
        .prop_map(|((_, raw), ms)| apply(raw, &ms))
}

/// Any message: arbitrary bytes now and then, mostly mutated samples.
pub fn message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..2048),
        4 => mutated(),
    ]
}
