//! Reading a certificate's `notAfter` from its DER encoding, and civil-date arithmetic.
//!
//! Only the path Certificate → tbsCertificate → validity is walked, so no X.509 library is
//! needed: everything else in the certificate is skipped by its length.

/// One DER element: tag, contents, and the rest of the input after it.
fn element(input: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let (&tag, rest) = input
        .split_first()
        .ok_or("the certificate ends early (no tag)")?;
    let (&first, mut rest) = rest
        .split_first()
        .ok_or("the certificate ends early (no length)")?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("the certificate has a length field DER does not allow".into());
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | usize::from(b);
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err("the certificate is truncated".into());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// `notAfter` of a DER-encoded X.509 certificate, in unix seconds.
pub fn not_after(der: &[u8]) -> Result<i64, String> {
    let (tag, cert, _) = element(der)?;
    if tag != SEQUENCE {
        return Err("not a DER certificate (no outer SEQUENCE)".into());
    }
    let (tag, tbs, _) = element(cert)?;
    if tag != SEQUENCE {
        return Err("not a DER certificate (no tbsCertificate)".into());
    }
    let mut rest = tbs;
    // [0] EXPLICIT version is optional (absent means v1).
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    // serialNumber, signature, issuer: skipped.
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (tag, validity, _) = element(rest)?;
    if tag != SEQUENCE {
        return Err("the certificate has no validity SEQUENCE where expected".into());
    }
    let (_, _, after_not_before) = element(validity)?;
    let (tag, time, _) = element(after_not_before)?;
    parse_time(tag, time)
}

fn digits(s: &[u8]) -> Result<i64, String> {
    s.iter().try_fold(0i64, |acc, &b| {
        if b.is_ascii_digit() {
            Ok(acc * 10 + i64::from(b - b'0'))
        } else {
            Err(format!(
                "the certificate's notAfter is not a valid time ({:?})",
                String::from_utf8_lossy(s)
            ))
        }
    })
}

/// UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ` (the forms RFC 5280 allows).
fn parse_time(tag: u8, t: &[u8]) -> Result<i64, String> {
    let (year, rest) = match (tag, t.len()) {
        (UTC_TIME, 13) => {
            let yy = digits(&t[..2])?;
            // RFC 5280: YY >= 50 is 19YY, else 20YY.
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &t[2..])
        }
        (GENERALIZED_TIME, 15) => (digits(&t[..4])?, &t[4..]),
        _ => {
            return Err(format!(
                "the certificate's notAfter has an unexpected form (tag {tag:#x}, {} bytes)",
                t.len()
            ))
        }
    };
    if rest.last() != Some(&b'Z') {
        return Err("the certificate's notAfter is not in UTC (no Z)".into());
    }
    let month = digits(&rest[0..2])?;
    let day = digits(&rest[2..4])?;
    let (h, m, s) = (
        digits(&rest[4..6])?,
        digits(&rest[6..8])?,
        digits(&rest[8..10])?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return Err("the certificate's notAfter is out of range".into());
    }
    Ok(crate::fmt::days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// `(year, month, day)` of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(crate::fmt::days_from_civil(1970, 1, 1), 0);
        assert_eq!(crate::fmt::days_from_civil(2000, 3, 1), 11_017);
        for z in [-1, 0, 59, 10_957, 20_000, 20_782] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(crate::fmt::days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn times_of_both_forms() {
        assert_eq!(parse_time(UTC_TIME, b"491231235959Z"), Ok(2_524_607_999));
        assert_eq!(parse_time(UTC_TIME, b"700101000000Z"), Ok(0));
        assert_eq!(
            parse_time(GENERALIZED_TIME, b"20500101000000Z"),
            Ok(2_524_608_000)
        );
        assert!(parse_time(UTC_TIME, b"7001010000Z").is_err());
        assert!(parse_time(UTC_TIME, b"701301000000Z").is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x03, 0x30, 0x01],
        ] {
            assert!(not_after(bad).is_err());
        }
    }
}
