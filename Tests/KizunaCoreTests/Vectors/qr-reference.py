import json, qrcode
from qrcode.util import QRData, MODE_8BIT_BYTE
cases = []
def add(name, data, version, mask):
    qr = qrcode.QRCode(version=version, error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=mask)
    qr.add_data(QRData(data, mode=MODE_8BIT_BYTE))
    qr.make(fit=False)
    m = qr.get_matrix()
    assert len(m) == 17 + 4 * version, (name, len(m))
    cases.append({"name": name, "dataHex": data.hex(), "version": version, "mask": mask,
                  "rows": ["".join("1" if c else "0" for c in row) for row in m]})
for mask in range(8):
    add(f"v1-mask{mask}", b"KIZUNA", 1, mask)
add("v4-mask3", bytes(range(60)), 4, 3)
add("v7-mask4", bytes((i * 37 + 11) % 256 for i in range(120)), 7, 4)
text = b"kizuna-pay:" + bytes((65 + (i * 7) % 26) for i in range(196))
add("v10-mask5", text, 10, 5)
add("v11-mask6", b"kizuna-pay:" + bytes((97 + (i * 11) % 26) for i in range(239)), 11, 6)
add("v14-mask2", bytes((i * 37 + 11) % 256 for i in range(331)), 14, 2)
json.dump({"description": "QR code reference symbols (byte mode, level M, forced mask, no quiet zone) made with the Python 'qrcode' package " + "(pip install qrcode), an encoder independent of Sources/KizunaWallet/QRCode.swift; rows top to bottom, 1 = dark. Regenerate with the script in the test's doc comment.", "cases": cases}, open("qr-reference.json", "w"), indent=1)
print(len(cases))
