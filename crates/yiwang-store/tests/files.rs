//! Files at rest (issue 13, item 1): private uploads are sealed, their names too, their
//! addresses keyed to their owner; public catalogue files are plain and listed. Every test
//! on SQLite and PostgreSQL.

use object_store::ObjectStoreExt;
use sqlx::Row;
use yiwang_store::files::{self, Visibility};
use yiwang_store::testing::TestDb;
use yiwang_store::{Meta, ledger};

const ID_CARD: &[u8] = b"%PDF-1.4\n% 460100199001011234 WANG XIAOMING\n%%EOF\n";

fn blob_path(address: &str) -> object_store::path::Path {
    object_store::path::Path::from(format!("{}/{address}", &address[..2]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_files_are_sealed_and_keyed_to_their_owner() {
    for db in TestDb::both().await {
        let s = db.open().await;
        let wang = Meta::actor("account:wang>legal:company");
        let f = files::put(&s, wang.clone(), "身份证-王小明.pdf", ID_CARD, Visibility::Private)
            .await
            .unwrap();
        assert!(!f.public);
        assert_eq!(f.created_by, "account:wang", "owned by the account, not the principal");
        assert_ne!(
            f.sm3,
            hex::encode(yiwang_crypto::sm3(ID_CARD)),
            "the address is not the content hash"
        );
        // At rest: neither the ID number in the blob nor the name in the row.
        let raw = s.files.get(&blob_path(&f.sm3)).await.unwrap().bytes().await.unwrap();
        assert!(!raw.windows(18).any(|w| w == b"460100199001011234"), "{:?}", db.engine);
        let name: String = sqlx::query("SELECT name FROM files WHERE sm3 = $1")
            .bind(&f.sm3)
            .fetch_one(&s.read)
            .await
            .unwrap()
            .try_get("name")
            .unwrap();
        assert!(!name.contains("王小明"), "{name}");
        // Nor in the ledger.
        let events: Vec<String> = sqlx::query_scalar("SELECT body FROM events WHERE kind = 'file.stored'")
            .fetch_all(&s.read)
            .await
            .unwrap();
        assert!(events.iter().all(|b| !b.contains("王小明")), "{events:?}");
        // Read back: opened, checked, named; readable by its owner only.
        let (info, bytes) = files::get(&s, &f.sm3).await.unwrap().unwrap();
        assert_eq!(&bytes[..], ID_CARD);
        assert_eq!(info.name, "身份证-王小明.pdf");
        assert!(info.readable_by("account:wang"));
        assert!(info.readable_by("account:wang>legal:company"));
        assert!(!info.readable_by("account:li"));
        assert!(!info.readable_by("anonymous"));
        // The same bytes from one owner are one file; from another, another file.
        let again = files::put(&s, wang.clone(), "again.pdf", ID_CARD, Visibility::Private)
            .await
            .unwrap();
        assert_eq!(again.sm3, f.sm3);
        let li = files::put(&s, Meta::actor("account:li"), "x.pdf", ID_CARD, Visibility::Private)
            .await
            .unwrap();
        assert_ne!(li.sm3, f.sm3);
        // What an application by each may name.
        let both = [f.sm3.as_str(), li.sm3.as_str()];
        let known = files::known(&s, &both, "account:wang>legal:company").await.unwrap();
        assert_eq!(known.into_iter().collect::<Vec<_>>(), vec![f.sm3.clone()]);
        // A sealed blob altered in the store is refused, not served.
        let mut bad = raw.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        s.files.put(&blob_path(&f.sm3), bad.into()).await.unwrap();
        assert!(files::get(&s, &f.sm3).await.is_err());
        // Public files: the catalogue's, by content hash, listed; private ones never are.
        let form = files::put(
            &s,
            Meta::actor("account:cat"),
            "申请表.pdf",
            b"%PDF-1.4\n%form\n",
            Visibility::Public,
        )
        .await
        .unwrap();
        assert!(form.public);
        assert_eq!(form.sm3, hex::encode(yiwang_crypto::sm3(b"%PDF-1.4\n%form\n")));
        assert!(form.readable_by("anonymous"));
        let listed: Vec<String> = files::list(&s, 100).await.unwrap().into_iter().map(|f| f.sm3).collect();
        assert_eq!(listed, vec![form.sm3.clone()]);
        // Control characters never make a file name.
        assert!(
            files::put(&s, wang.clone(), "a\u{0}b.pdf", b"%PDF-1.4\n%x\n", Visibility::Private)
                .await
                .is_err()
        );
        let report = ledger::verify_store(&s).await.unwrap();
        assert!(report.ok(), "{report:?}");
        db.cleanup().await;
    }
}
