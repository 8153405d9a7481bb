/// The console's words, Japanese first (the default) and English (`?lang=en`, remembered in a
/// cookie). Templates read them as `{{t.key}}`; a key missing in one language is a test failure
/// (`ConsoleTests.everyWordInBothLanguages`).
enum ConsoleLanguage: String, Sendable, CaseIterable {
    case ja, en

    var other: ConsoleLanguage { self == .ja ? .en : .ja }

    var text: [String: String] { self == .ja ? ConsoleText.ja : ConsoleText.en }
}

enum ConsoleText {
    static let ja: [String: String] = [
        "brand": "絆 コンソール", "otherLanguage": "English", "signIn": "サインイン", "signOut": "サインアウト",
        "network": "ネットワーク", "money": "通貨", "programs": "施策", "statutory": "法定報告", "settlements": "精算", "explorer": "エクスプローラ",
        "chain": "チェーン", "height": "高さ", "generated": "作成", "lastCommit": "最終確定", "blockInterval": "ブロック間隔",
        "peers": "接続ピア", "mempool": "未確定取引", "validators": "バリデータ", "validator": "バリデータ", "organisation": "組織",
        "votingPower": "投票力", "online": "署名中", "missedPrecommits": "署名漏れ", "yes": "はい", "no": "いいえ",
        "blocksPerMinute": "1分あたりのブロック数・取引数(直近1時間)", "blocks": "ブロック", "transactions": "取引", "tipHash": "最新ブロックのハッシュ",
        "asset": "資産", "minted": "発行", "redeemed": "換金", "refunded": "払戻", "expired": "失効", "outstanding": "残高",
        "coin": "コイン", "point": "ポイント", "thanks": "ありがとうポイント",
        "supply": "発行残高", "supplyOverTime": "資産別残高の推移(このノードの起動以降)", "paymentsPerDay": "1日あたりの支払件数(締めた日のみ)",
        "categoryBreakdown": "業種別の支払(直近30日の締めた日、秘匿分を除く)", "category": "業種", "payments": "件数", "yen": "金額", "residents": "利用者数",
        "day": "日付", "suppressed": "秘匿", "aggregatesNote": "集計は締めた日(ブロック時刻で日本時間の前日まで)だけを公開し、利用者が基準人数未満の区分は秘匿します。",
        "program": "施策", "name": "名称", "budget": "予算", "granted": "付与", "used": "利用", "remaining": "残額", "usedShare": "消化率",
        "runOut": "予算消化の見込み日", "programClosed": "終了", "periodEnds": "期間終了", "delegate": "委任先(付与の代行)", "revoked": "取消済", "until": "期限", "noRate": "利用の記録なし", "beyondHorizon": "当面なし", "burnDown": "残額の推移と見込み",
        "projection": "見込み", "exhausted": "消化済み", "unlimited": "上限なし", "noPrograms": "施策はまだありません。",
        "baseDate": "基準日", "show": "表示", "unusedBalance": "未使用残高", "closed": "確定", "provisional": "暫定(基準日がまだ終わっていません)",
        "depositRequired": "供託が必要な額", "refundLimit": "翌期の払戻上限(5%)", "boundTo": "この報告が依拠するブロック", "blockHash": "ブロックハッシュ",
        "blockTime": "ブロック時刻", "printHint": "印刷はブラウザの印刷機能で。印刷用の体裁で出力されます。", "status": "状態",
        "statutoryNote": "資金決済法の未使用残高(有償のコインのみ)。基準日は3月31日と9月30日です。",
        "merchant": "加盟店", "merchants": "精算のある加盟店", "funder": "負担者", "gross": "総額", "fee": "手数料", "net": "差引",
        "totalsByFunder": "負担者別の合計", "settlementList": "精算の明細", "sequence": "番号", "time": "時刻", "reference": "参照",
        "unredeemed": "未換金", "noSettlements": "精算はまだありません。", "merchantAddress": "加盟店のアドレス",
        "search": "検索", "searchHint": "高さ・ブロックハッシュ・取引ID・アドレス", "latestBlocks": "最新のブロック",
        "proposer": "提案者", "hash": "ハッシュ", "block": "ブロック", "certificate": "確定証明", "signature": "署名", "verified": "検証",
        "round": "ラウンド", "kind": "種類", "signer": "署名者", "fields": "内容", "transaction": "取引", "stateRoot": "状態ルート",
        "previousBlock": "前のブロック", "nextBlock": "次のブロック", "account": "アカウント", "role": "役割", "balance": "残高",
        "history": "履歴", "frozen": "凍結", "position": "位置", "noCertificate": "確定証明はまだ次のブロックにあります。",
        "signInTitle": "メンバー・監査人のサインイン", "token": "アクセストークン",
        "signInNote": "APIと同じメンバー/監査人のトークンを入力してください。トークンはこのノードに保存されず、照合にだけ使われます。",
        "member": "メンバー", "auditor": "監査人", "membersOnly": "メンバーと監査人のみ",
        "error": "エラー", "back": "ネットワークへ戻る", "signInAgain": "サインインしてください。",
    ]

    static let en: [String: String] = [
        "brand": "Kizuna console", "otherLanguage": "日本語", "signIn": "Sign in", "signOut": "Sign out",
        "network": "Network", "money": "Money", "programs": "Programs", "statutory": "Statutory", "settlements": "Settlements", "explorer": "Explorer",
        "chain": "Chain", "height": "Height", "generated": "Generated", "lastCommit": "Last commit", "blockInterval": "Block interval",
        "peers": "Peers", "mempool": "Pending transactions", "validators": "Validators", "validator": "Validator", "organisation": "Organisation",
        "votingPower": "Voting power", "online": "Signing", "missedPrecommits": "Missed precommits", "yes": "yes", "no": "no",
        "blocksPerMinute": "Blocks and transactions per minute (last hour)", "blocks": "Blocks", "transactions": "Transactions", "tipHash": "Hash of the tip",
        "asset": "Asset", "minted": "Minted", "redeemed": "Redeemed", "refunded": "Refunded", "expired": "Expired", "outstanding": "Outstanding",
        "coin": "Coin", "point": "Points", "thanks": "Thank-you points",
        "supply": "Supply", "supplyOverTime": "Outstanding per asset (since this node started)", "paymentsPerDay": "Payments per day (closed days only)",
        "categoryBreakdown": "Payments by merchant category (closed days of the last 30, suppressed cells left out)", "category": "Category", "payments": "Payments", "yen": "Yen", "residents": "Residents",
        "day": "Day", "suppressed": "suppressed", "aggregatesNote": "Aggregates are published for closed days only (up to the day before the tip's Japan-time day), and a group of fewer residents than the threshold is suppressed.",
        "program": "Program", "name": "Name", "budget": "Budget", "granted": "Granted", "used": "Used", "remaining": "Remaining", "usedShare": "Used share",
        "runOut": "Projected run-out", "programClosed": "closed", "periodEnds": "period ends", "delegate": "Delegate (grants on the program's behalf)", "revoked": "revoked", "until": "until", "noRate": "no use recorded", "beyondHorizon": "not foreseeable", "burnDown": "Remaining budget and projection",
        "projection": "projection", "exhausted": "exhausted", "unlimited": "no limit", "noPrograms": "No program yet.",
        "baseDate": "Base date", "show": "Show", "unusedBalance": "Unused balance", "closed": "closed", "provisional": "provisional (the base date is not over yet)",
        "depositRequired": "Deposit required", "refundLimit": "Refund limit for the next period (5%)", "boundTo": "The block this report rests on", "blockHash": "Block hash",
        "blockTime": "Block time", "printHint": "Print with the browser's print command: the page prints in a report layout.", "status": "Status",
        "statutoryNote": "The unused balance of the Payment Services Act (paid coins only). Base dates are 31 March and 30 September.",
        "merchant": "Merchant", "merchants": "Merchants with settlements", "funder": "Funder", "gross": "Gross", "fee": "Fee", "net": "Net",
        "totalsByFunder": "Totals by funder", "settlementList": "Settlements", "sequence": "No.", "time": "Time", "reference": "Reference",
        "unredeemed": "Unredeemed", "noSettlements": "No settlement yet.", "merchantAddress": "Merchant address",
        "search": "Search", "searchHint": "height, block hash, transaction id or address", "latestBlocks": "Latest blocks",
        "proposer": "Proposer", "hash": "Hash", "block": "Block", "certificate": "Commit certificate", "signature": "Signature", "verified": "Verified",
        "round": "Round", "kind": "Kind", "signer": "Signer", "fields": "Fields", "transaction": "Transaction", "stateRoot": "State root",
        "previousBlock": "Previous block", "nextBlock": "Next block", "account": "Account", "role": "Role", "balance": "Balance",
        "history": "History", "frozen": "Frozen", "position": "Position", "noCertificate": "The commit certificate is still in the next block.",
        "signInTitle": "Sign in: members and auditors", "token": "Access token",
        "signInNote": "Enter the member or auditor token you use with the API. The node stores no token; it only compares its digest.",
        "member": "member", "auditor": "auditor", "membersOnly": "members and auditors only",
        "error": "Error", "back": "Back to the network", "signInAgain": "Please sign in.",
    ]
}
