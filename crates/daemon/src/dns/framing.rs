//! DNS over TCP framing (RFC 1035 §4.2.2): each message is preceded by its length in two
//! octets. Every TCP exchange of the daemon (queries, transfers out and in, SOA queries)
//! reads and writes messages here.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest message a frame holds.
pub(crate) const MAX_MESSAGE: usize = u16::MAX as usize;

/// Writes `msg` with its length prefix in one write, using `frame` as scratch space.
pub(crate) async fn write_message<W: AsyncWrite + Unpin>(
    stream: &mut W,
    msg: &[u8],
    frame: &mut Vec<u8>,
) -> io::Result<()> {
    let len = u16::try_from(msg.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message over 65,535 octets"))?;
    frame.clear();
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(msg);
    stream.write_all(frame).await
}

/// Reads a length prefix; `Ok(None)` at a clean end of stream (nothing more was sent).
pub(crate) async fn read_length<R: AsyncRead + Unpin>(stream: &mut R) -> io::Result<Option<usize>> {
    let mut length = [0u8; 2];
    match stream.read_exact(&mut length).await {
        Ok(_) => Ok(Some(usize::from(u16::from_be_bytes(length)))),
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(err) => Err(err),
    }
}

/// Reads one whole message into `buf` (grown to fit) and returns its length; `Ok(None)` at
/// a clean end of stream.
pub(crate) async fn read_message<R: AsyncRead + Unpin>(
    stream: &mut R,
    buf: &mut Vec<u8>,
) -> io::Result<Option<usize>> {
    let Some(len) = read_length(stream).await? else {
        return Ok(None);
    };
    if buf.len() < len {
        buf.resize(len, 0);
    }
    stream.read_exact(&mut buf[..len]).await?;
    Ok(Some(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_round_trip_and_end_cleanly() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let mut frame = Vec::new();
        write_message(&mut client, b"first", &mut frame)
            .await
            .unwrap();
        write_message(&mut client, b"", &mut frame).await.unwrap();
        drop(client);
        let mut buf = Vec::new();
        assert_eq!(read_message(&mut server, &mut buf).await.unwrap(), Some(5));
        assert_eq!(&buf[..5], b"first");
        assert_eq!(read_message(&mut server, &mut buf).await.unwrap(), Some(0));
        assert_eq!(read_message(&mut server, &mut buf).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_cut_message_is_an_error() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        client.write_all(&[0, 10, 1, 2, 3]).await.unwrap();
        drop(client);
        let err = read_message(&mut server, &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn oversize_messages_are_refused() {
        let (mut client, _server) = tokio::io::duplex(16);
        let big = vec![0u8; MAX_MESSAGE + 1];
        let err = write_message(&mut client, &big, &mut Vec::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
