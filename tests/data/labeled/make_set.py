"""Builds the labeled test set: src/*.yaml (hand-written texts + labels) -> mail/*.eml + labels.jsonl.

Run from the repository root:  python tests/data/labeled/make_set.py
The committed .eml files are the set; this script only spares writing MIME, charsets and quote
headers by hand. Every text in src/ was written one by one; the script adds the envelope: headers,
the salesperson's quoted reminder in the style of the customer's mail client, signature, footer,
disclaimer, the charset and transfer encoding, HTML, attachments; bounces get their DSN frame.
It checks that each label's reply_text survives the round trip through bot.core.mime.parse_message.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import html
import json
import quopri
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.header import Header
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
OUT = HERE / "mail"
LABELS = HERE / "labels.jsonl"

# ---------------------------------------------------------------- who writes to whom
SUPPLIERS: dict[str, tuple[str, str, str]] = {  # reminder language -> (name, address, company)
    "en": ("Lily Chen", "lily.chen@hx-hardware.cn", "Ningbo Haoxin Hardware Co., Ltd."),
    "zh": ("陈丽", "lily.chen@hx-hardware.cn", "宁波浩鑫五金有限公司"),
    "de": ("Markus Weber", "m.weber@weber-pumpen.de", "Weber Pumpentechnik GmbH"),
    "es": ("Lucía Ortega", "lortega@ceramicas-levante.es", "Cerámicas Levante S.L."),
    "fr": ("Lucía Ortega", "lortega@ceramicas-levante.es", "Cerámicas Levante S.L."),
    "it": ("Markus Weber", "m.weber@weber-pumpen.de", "Weber Pumpentechnik GmbH"),
    "pt": ("Lucía Ortega", "lortega@ceramicas-levante.es", "Cerámicas Levante S.L."),
    "ru": ("Lily Chen", "lily.chen@hx-hardware.cn", "Ningbo Haoxin Hardware Co., Ltd."),
    "zh_hant": ("陳麗", "lily.chen@hx-hardware.cn", "寧波浩鑫五金有限公司"),
}
ASCII_SUPPLIER = {"es": "Lucia Ortega", "fr": "Lucia Ortega", "pt": "Lucia Ortega"}

ZONES = {"en": "+0000", "zh": "+0800", "de": "+0100", "es": "+0100", "fr": "+0100", "it": "+0100",
         "pt": "-0300", "ru": "+0300", "ja": "+0900", "ar": "+0300", "tr": "+0300",
         "ko": "+0900", "nl": "+0100", "pl": "+0100", "vi": "+0700", "id": "+0700"}

REMINDER_SUBJECT = {
    "en": "Payment reminder: {order} balance due",
    "zh": "付款提醒：订单 {order} 尾款",
    "zh_hant": "付款提醒：訂單 {order} 尾款",
    "de": "Zahlungserinnerung Auftrag {order}",
    "es": "Recordatorio de pago pedido {order}",
    "fr": "Rappel de paiement commande {order}",
    "it": "Sollecito di pagamento ordine {order}",
    "pt": "Lembrete de pagamento pedido {order}",
    "ru": "Payment reminder / напоминание об оплате {order}",
}
REMINDER_BODY = {
    "en": "Dear {cust},\n\nHope you are well. This is a friendly reminder that the {what} for order {order} "
          "({amount}) was due on {due}. The goods are ready and we would like to book the shipment.\n\n"
          "Could you please let us know when the payment will be arranged?\n\nBest regards,\n{sup}\n{company}",
    "zh": "{cust}您好，\n\n订单 {order} 的{what_zh}（{amount}）已于 {due} 到期。货物已经备好，"
          "请问款项大概什么时候可以安排？收到水单后我们马上订舱。\n\n谢谢！\n{sup}\n{company}",
    "zh_hant": "{cust}您好，\n\n訂單 {order} 的{what_zh}（{amount}）已於 {due} 到期。貨物已經備妥，"
               "請問款項大概什麼時候可以安排？收到水單後我們馬上訂艙。\n\n謝謝！\n{sup}\n{company}",
    "de": "Sehr geehrte Damen und Herren,\n\nfür den Auftrag {order} ist die {what_de} über {amount} seit "
          "dem {due} fällig. Die Ware ist versandbereit.\n\nBitte teilen Sie uns mit, wann wir mit der "
          "Zahlung rechnen können.\n\nMit freundlichen Grüßen\n{sup}\n{company}",
    "es": "Estimado/a {cust}:\n\nLe recordamos que el {what_es} del pedido {order} ({amount}) venció el "
          "{due}. La mercancía está lista para cargar.\n\n¿Nos puede indicar cuándo podrá realizar "
          "el pago?\n\nUn saludo,\n{sup}\n{company}",
    "fr": "Bonjour {cust},\n\nSauf erreur de notre part, le {what_fr} de la commande {order} ({amount}) "
          "était dû le {due}. La marchandise est prête à être expédiée.\n\nPouvez-vous nous indiquer "
          "la date du règlement ?\n\nCordialement,\n{sup}\n{company}",
    "it": "Gentile {cust},\n\nle ricordiamo che il {what_it} dell'ordine {order} ({amount}) era in "
          "scadenza il {due}. La merce è pronta per la spedizione.\n\nCi può indicare quando "
          "verrà effettuato il pagamento?\n\nCordiali saluti\n{sup}\n{company}",
    "pt": "Prezado(a) {cust},\n\nlembramos que o {what_pt} do pedido {order} ({amount}) venceu em "
          "{due}. A mercadoria está pronta para embarque.\n\nPode nos informar quando o pagamento "
          "será feito?\n\nAtenciosamente,\n{sup}\n{company}",
    "ru": "Dear {cust},\n\nKindly note the {what} for order {order} ({amount}) was due on {due}. "
          "The goods are ready for shipment.\n\nPlease advise the payment date.\n\nBest regards,\n{sup}\n{company}",
}
WHAT = {"en": ("balance", "deposit"), "zh": ("尾款", "定金"), "de": ("Restzahlung", "Anzahlung"),
        "es": ("saldo", "anticipo"), "fr": ("solde", "acompte"), "it": ("saldo", "acconto"),
        "pt": ("saldo", "sinal")}
RE_PREFIX = {"en": "Re: ", "zh": "回复：", "de": "AW: ", "es": "RE: ", "fr": "RE : ", "it": "R: ",
             "pt": "Re: ", "ru": "RE: ", "ja": "Re: ", "ar": "رد: ", "tr": "YNT: ",
             "ko": "RE: ", "nl": "Re: ", "pl": "Odp: ", "vi": "Re: ", "id": "Balas: "}
FOOTERS = {
    "iphone": "Sent from my iPhone", "iphone_zh": "发自我的iPhone", "iphone_de": "Von meinem iPhone gesendet",
    "ipad": "Sent from my iPad", "android": "Sent from my Samsung Galaxy smartphone.",
    "outlook_mobile": "Get Outlook for Android", "huawei": "发自我的华为手机",
    "iphone_fr": "Envoyé de mon iPhone", "iphone_es": "Enviado desde mi iPhone",
    "iphone_it": "Inviato da iPhone", "iphone_pt": "Enviado do meu iPhone",
    "iphone_ru": "Отправлено с iPhone", "iphone_ja": "iPhoneから送信", "iphone_tr": "iPhone'umdan gönderildi",
    "mailmaster": "来自网易邮箱大师", "wecom": "发自企业微信",
    "yahoo": "Sent from Yahoo Mail on Android",
    "outlook_ios": "Get Outlook for iOS", "blackberry": "Sent from my BlackBerry 10 smartphone.",
    "samsung_de": "Von meinem Samsung Galaxy Smartphone gesendet.", "huawei_es": "Enviado desde mi Huawei",
    "xiaomi": "发自我的小米手机", "win_mail": "Sent from Mail for Windows",
    "iphone_nl": "Verstuurd vanaf mijn iPhone", "iphone_ko": "iPhone에서 보냄", "iphone_pl": "Wysłane z iPhone'a",
}
DISCLAIMERS = {
    "en": "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and intended solely "
          "for the addressee. If you have received it in error, please notify the sender and delete it. "
          "Any unauthorised use or disclosure is prohibited.",
    "de": "Diese E-Mail enthält vertrauliche Informationen. Wenn Sie nicht der richtige Adressat sind "
          "oder diese E-Mail irrtümlich erhalten haben, informieren Sie bitte sofort den Absender und "
          "vernichten Sie diese Mail. Das unerlaubte Kopieren sowie die unbefugte Weitergabe dieser Mail "
          "ist nicht gestattet.",
    "es": "AVISO LEGAL: Este mensaje y sus archivos adjuntos van dirigidos exclusivamente a su "
          "destinatario y pueden contener información confidencial. Si usted no es el destinatario, "
          "le rogamos que lo comunique al remitente y proceda a su borrado.",
    "fr": "Ce message et toutes les pièces jointes sont confidentiels et établis à l'intention exclusive "
          "de ses destinataires. Toute utilisation non conforme à sa destination est interdite.",
    "it": "Questo messaggio e i suoi allegati sono indirizzati esclusivamente alle persone indicate. "
          "La diffusione, copia o qualsiasi altra azione derivante dalla conoscenza di queste "
          "informazioni sono rigorosamente vietate.",
    "pt": "AVISO DE CONFIDENCIALIDADE: Esta mensagem e seus anexos podem conter informações "
          "confidenciais. Se você não for o destinatário, por favor apague-a e avise o remetente.",
    "en_env": "Please consider the environment before printing this e-mail.\n\n"
              "This email has been scanned for viruses and malware by Mimecast Ltd.",
    "zh": "本邮件及其附件含有保密信息，仅限于发送给上面地址中列出的个人或群组。禁止任何其他人以任何形式使用"
          "本邮件中的信息。如果您错收了本邮件，请您立即电话或邮件通知发件人并删除本邮件！",
}


@dataclass
class Ctx:
    """Everything the envelope needs for one message."""

    spec: dict[str, Any]
    lang: str
    sent: datetime
    reminder_at: datetime
    rlang: str
    sup_name: str
    sup_addr: str
    cust_name: str
    cust_addr: str
    order: str | None
    subject: str
    rsubject: str
    rbody: str
    rmsgid: str


# ---------------------------------------------------------------- quote headers
EN_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
EN_DAYS_LONG = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EN_MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
EN_MON_LONG = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]
DE_DAYS = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
DE_MON = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
          "Oktober", "November", "Dezember"]
FR_DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
FR_MON = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]
ES_DAYS = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]
ES_MON = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
          "octubre", "noviembre", "diciembre"]
IT_DAYS = ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"]
IT_MON = ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
          "settembre", "ottobre", "novembre", "dicembre"]
PT_DAYS = ["segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"]
PT_MON = ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
          "outubro", "novembro", "dezembro"]
RU_DAYS = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"]
RU_MON = ["янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек."]
ZH_DAYS = ["一", "二", "三", "四", "五", "六", "日"]
JA_DAYS = ["月", "火", "水", "木", "金", "土", "日"]
TR_MON = ["Oca", "Şub", "Mar", "Nis", "May", "Haz", "Tem", "Ağu", "Eyl", "Eki", "Kas", "Ara"]
TR_DAYS = ["Pzt", "Sal", "Çar", "Per", "Cum", "Cmt", "Paz"]
AR_MON = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر",
          "نوفمبر", "ديسمبر"]
RU_DAYS_LONG = ["Понедельник", "Вторник", "Среда", "Четверг", "Пятница", "Суббота", "Воскресенье"]
RU_MON_GEN = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
              "ноября", "декабря"]
KO_DAYS = ["월", "화", "수", "목", "금", "토", "일"]
NL_DAYS = ["ma", "di", "wo", "do", "vr", "za", "zo"]
NL_MON = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
PL_DAYS = ["pon.", "wt.", "śr.", "czw.", "pt.", "sob.", "niedz."]
PL_DAYS_LONG = ["poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"]
PL_MON = ["sty", "lut", "mar", "kwi", "maj", "cze", "lip", "sie", "wrz", "paź", "lis", "gru"]
VI_DAYS = ["Th 2", "Th 3", "Th 4", "Th 5", "Th 6", "Th 7", "CN"]
ID_DAYS = ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"]
AR_DAYS = ["الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"]


def _h12(d: datetime) -> str:
    return f"{(d.hour % 12) or 12}:{d.minute:02d} {'AM' if d.hour < 12 else 'PM'}"


def _outlook(labels: tuple[str, str, str, str], when: str, c: Ctx, sep: str = ": ") -> str:
    f, s, t, subj = labels
    return (f"{f}{sep}{c.sup_name} <{c.sup_addr}>\n{s}{sep}{when}\n{t}{sep}{c.cust_name} <{c.cust_addr}>\n"
            f"{subj}{sep}{c.rsubject}\n\n{c.rbody}")


def quote_block(style: str, c: Ctx) -> tuple[str, bool]:
    """The quoted reminder as the customer's client writes it; bool: lines get '> ' prefixes."""
    d = c.reminder_at
    wd, mo = d.weekday(), d.month - 1
    n, a = c.sup_name, c.sup_addr
    line = "_" * 32 + "\n"
    table: dict[str, tuple[str, bool]] = {
        "outlook_en": (line + _outlook(("From", "Sent", "To", "Subject"),
                       f"{EN_DAYS_LONG[wd]}, {EN_MON_LONG[mo]} {d.day}, {d.year} {_h12(d)}", c), False),
        "outlook_en_gb": (_outlook(("From", "Sent", "To", "Subject"),
                          f"{d.day:02d} {EN_MON_LONG[mo]} {d.year} {d:%H:%M}", c), False),
        "original_message": ("-----Original Message-----\n" + _outlook(("From", "Sent", "To", "Subject"),
                             f"{EN_DAYS_LONG[wd]}, {EN_MON_LONG[mo]} {d.day}, {d.year} {_h12(d)}", c), False),
        "original_message_de": ("-----Ursprüngliche Nachricht-----\n" + _outlook(("Von", "Gesendet", "An", "Betreff"),
                                f"{DE_DAYS[wd]}, {d.day}. {DE_MON[mo]} {d.year} {d:%H:%M}", c), False),
        "outlook_de": (line + _outlook(("Von", "Gesendet", "An", "Betreff"),
                       f"{DE_DAYS[wd]}, {d.day}. {DE_MON[mo]} {d.year} {d:%H:%M}", c), False),
        "outlook_fr": (line + _outlook(("De", "Envoyé", "À", "Objet"),
                       f"{FR_DAYS[wd]} {d.day} {FR_MON[mo]} {d.year} {d:%H:%M}", c, " : "), False),
        "outlook_es": (line + _outlook(("De", "Enviado el", "Para", "Asunto"),
                       f"{ES_DAYS[wd]}, {d.day} de {ES_MON[mo]} de {d.year} {d:%H:%M}", c), False),
        "outlook_it": (line + _outlook(("Da", "Inviato", "A", "Oggetto"),
                       f"{IT_DAYS[wd]} {d.day} {IT_MON[mo]} {d.year} {d:%H:%M}", c), False),
        "outlook_pt": (line + _outlook(("De", "Enviada em", "Para", "Assunto"),
                       f"{PT_DAYS[wd]}, {d.day} de {PT_MON[mo]} de {d.year} {d:%H:%M}", c), False),
        "outlook_ru": (line + _outlook(("От", "Отправлено", "Кому", "Тема"),
                       f"{d.day} {RU_MON[mo]} {d.year} г. {d:%H:%M}", c), False),
        "outlook_zh": (line + _outlook(("发件人", "发送时间", "收件人", "主题"),
                       f"{d.year}年{d.month}月{d.day}日 {d:%H:%M}", c), False),
        "outlook_ja": (line + _outlook(("差出人", "送信日時", "宛先", "件名"),
                       f"{d.year}年{d.month}月{d.day}日 {d:%H:%M}", c), False),
        "outlook_tr": (line + _outlook(("Kimden", "Gönderildi", "Kime", "Konu"),
                       f"{d.day} {TR_MON[mo]} {d.year} {TR_DAYS[wd]} {d:%H:%M}", c), False),
        "outlook_ar": (line + _outlook(("من", "تاريخ الإرسال", "إلى", "الموضوع"),
                       f"{AR_DAYS[wd]}، {d.day} {AR_MON[mo]} {d.year} {d:%H:%M}", c), False),
        "gmail_en": (f"On {EN_DAYS[wd]}, {EN_MON[mo]} {d.day}, {d.year} at {_h12(d)} {n} <{a}> wrote:", True),
        "gmail_de": (f"Am {DE_DAYS[wd][:2]}., {d.day}. {DE_MON[mo]} {d.year} um {d:%H:%M} Uhr schrieb {n} <{a}>:", True),
        "gmail_fr": (f"Le {FR_DAYS[wd][:3]}. {d.day} {FR_MON[mo]} {d.year} à {d:%H:%M}, {n} <{a}> a écrit :", True),
        "gmail_es": (f"El {ES_DAYS[wd][:3]}, {d.day} {ES_MON[mo][:3]} {d.year} a las {d:%H:%M}, {n} (<{a}>) escribió:", True),
        "gmail_it": (f"Il giorno {IT_DAYS[wd][:3]} {d.day} {IT_MON[mo][:3]} {d.year} alle ore {d:%H:%M} {n} <{a}> ha scritto:", True),
        "gmail_pt": (f"Em {PT_DAYS[wd][:3]}., {d.day} de {PT_MON[mo][:3]}. de {d.year} às {d:%H:%M}, {n} <{a}> escreveu:", True),
        "gmail_ru": (f"{RU_DAYS[wd]}, {d.day} {RU_MON[mo]} {d.year} г. в {d:%H:%M}, {n} <{a}>:", True),
        "gmail_ja": (f"{d.year}年{d.month}月{d.day}日({JA_DAYS[wd]}) {d:%H:%M} {n} <{a}>:", True),
        "gmail_zh": (f"{n} <{a}> 于{d.year}年{d.month}月{d.day}日周{ZH_DAYS[wd]} {d:%H:%M}写道：", True),
        "gmail_tr": (f"{d.day} {TR_MON[mo]} {d.year} {TR_DAYS[wd]}, {d:%H:%M} tarihinde {n} <{a}> şunu yazdı:", True),
        "gmail_ar": (f"في {AR_DAYS[wd]}، {d.day} {AR_MON[mo]} {d.year} في {d:%H:%M}، كتب {n} <{a}>:", True),
        "apple_en": (f"On {d.day} {EN_MON[mo]} {d.year}, at {d:%H:%M}, {n} <{a}> wrote:", True),
        "apple_de": (f"Am {d.day:02d}.{d.month:02d}.{d.year} um {d:%H:%M} schrieb {n} <{a}>:", True),
        "apple_zh": (f"在 {d.year}年{d.month}月{d.day}日，{d:%H:%M}，{n} <{a}> 写道：", True),
        "apple_fr": (f"Le {d.day} {FR_MON[mo]} {d.year} à {d:%H:%M}, {n} <{a}> a écrit :", True),
        "apple_es": (f"El {d.day} {ES_MON[mo]} {d.year}, a las {d:%H:%M}, {n} <{a}> escribió:", True),
        "apple_ja": (f"{d.year}/{d.month:02d}/{d.day:02d} {d:%H:%M}、{n} <{a}>のメール:", True),
        "thunderbird_en": (f"On {d.day:02d}/{d.month:02d}/{d.year} {d:%H:%M}, {n} wrote:", True),
        "thunderbird_de": (f"Am {d.day:02d}.{d.month:02d}.{d.year} um {d:%H:%M} schrieb {n}:", True),
        "thunderbird_fr": (f"Le {d.day:02d}/{d.month:02d}/{d.year} à {d:%H:%M}, {n} a écrit :", True),
        "thunderbird_ru": (f"{d.day:02d}.{d.month:02d}.{d.year} {d:%H:%M}, {n} пишет:", True),
        "thunderbird_it": (f"Il {d.day:02d}/{d.month:02d}/{d.year} {d:%H:%M}, {n} ha scritto:", True),
        "foxmail": ("------------------&nbsp;原始邮件&nbsp;------------------".replace("&nbsp;", " ") +
                    f"\n发件人: \"{n}\"<{a}>;\n发送时间: {d.year}年{d.month}月{d.day}日(星期{ZH_DAYS[wd]}) "
                    f"{'上午' if d.hour < 12 else '下午'}{d:%I:%M}\n收件人: \"{c.cust_name}\"<{c.cust_addr}>;\n"
                    f"主题: {c.rsubject}\n\n{c.rbody}", False),
        "qq": (("------------------ Original ------------------\n"
                f"From: \"{n}\"<{a}>;\nDate: {EN_DAYS[wd]}, {EN_MON[mo]} {d.day}, {d.year} {d:%H:%M}\n"
                f"To: \"{c.cust_name}\"<{c.cust_addr}>;\nSubject: {c.rsubject}\n\n{c.rbody}"), False),
        "netease": (f"在 {d:%Y-%m-%d %H:%M:%S}，\"{n}\" <{a}> 写道：", True),
        "netease_hant": (f"在 {d:%Y-%m-%d %H:%M:%S}，\"{n}\" <{a}> 寫道：", True),
        "outlook_zh_hant": (line + _outlook(("寄件者", "寄件日期", "收件者", "主旨"),
                            f"{d.year}年{d.month}月{d.day}日 {d:%H:%M}", c), False),
        "gmail_en_24": (f"On {EN_DAYS[wd]}, {d.day} {EN_MON[mo]} {d.year} at {d:%H:%M}, {n} <{a}> wrote:", True),
        "gmail_en_wrapped": (f"On {EN_DAYS[wd]}, {EN_MON[mo]} {d.day}, {d.year} at {_h12(d)} {n} <\n{a}> wrote:", True),
        "yahoo_en": ((f"On {EN_DAYS_LONG[wd]}, {EN_MON_LONG[mo]} {d.day}, {d.year}, {d:%I:%M:%S} "
                      f"{'AM' if d.hour < 12 else 'PM'} GMT+8, {n} <{a}> wrote:"), True),
        "outlook_mac_en": (_outlook(("From", "Date", "To", "Subject"),
                           f"{EN_DAYS_LONG[wd]}, {d.day} {EN_MON_LONG[mo]} {d.year} at {d:%H:%M}", c), False),
        "outlook_es_mx": (line + _outlook(("De", "Enviado", "Para", "Asunto"),
                          f"{ES_DAYS[wd]}, {d.day} de {ES_MON[mo]} de {d.year} {d:%H:%M}", c), False),
        "gmail_de_mobile": (f"{n} <{a}> schrieb am {DE_DAYS[wd][:2]}., {d.day}. {DE_MON[mo]} {d.year}, {d:%H:%M}:", True),
        "gmail_es_mobile": (f"El {ES_DAYS[wd][:3]}, {d.day} {ES_MON[mo][:3]} {d.year}, {d.hour}:{d:%M}, {n} <{a}> escribió:", True),
        "gmail_zh_hant": ((f"{n} <{a}> 於 {d.year}年{d.month}月{d.day}日 週{ZH_DAYS[wd]} "
                           f"{'上午' if d.hour < 12 else '下午'}{(d.hour % 12) or 12}:{d:%M}寫道："), True),
        "gmail_ko": ((f"{d.year}년 {d.month}월 {d.day}일 ({KO_DAYS[wd]}) {'오전' if d.hour < 12 else '오후'} "
                      f"{(d.hour % 12) or 12}:{d:%M}, {n} <{a}>님이 작성:"), True),
        "gmail_nl": (f"Op {NL_DAYS[wd]} {d.day} {NL_MON[mo]} {d.year} om {d:%H:%M} schreef {n} <{a}>:", True),
        "gmail_pl": (f"{PL_DAYS[wd]}, {d.day} {PL_MON[mo]} {d.year} o {d:%H:%M} {n} <{a}> napisał(a):", True),
        "gmail_vi": (f"Vào {VI_DAYS[wd]}, {d.day} thg {d.month}, {d.year} vào lúc {d:%H:%M} {n} <{a}> đã viết:", True),
        "gmail_id": (f"Pada tanggal {ID_DAYS[wd]}, {d.day} {EN_MON[mo]} {d.year} pukul {d:%H.%M} {n} <{a}> menulis:", True),
        "outlook_nl": (line + _outlook(("Van", "Verzonden", "Aan", "Onderwerp"),
                       f"{NL_DAYS[wd]} {d.day} {NL_MON[mo]} {d.year} {d:%H:%M}", c), False),
        "outlook_pl": (line + _outlook(("Od", "Wysłano", "Do", "Temat"),
                       f"{PL_DAYS_LONG[wd]}, {d.day} {PL_MON[mo]} {d.year} {d:%H:%M}", c), False),
        "mailru": (f"{RU_DAYS_LONG[wd]}, {d.day} {RU_MON_GEN[mo]} {d.year}, {d:%H:%M} +08:00 от {n} <{a}>:", True),
        "gt_only": ("", True),
        "none": ("", False),
    }
    if style not in table:
        raise SystemExit(f"{c.spec['id']}: unknown quote style {style}")
    return table[style]


def plain_quote(style: str, c: Ctx) -> str:
    head, prefixed = quote_block(style, c)
    if style == "gt_only":  # quoted lines with no attribution line at all
        return "\n".join(("> " + ln) if ln else ">" for ln in c.rbody.split("\n"))
    if not head:
        return ""
    if prefixed:
        return head + "\n" + "\n".join(("> " + ln) if ln else ">" for ln in c.rbody.split("\n"))
    return head


# ---------------------------------------------------------------- building one message
def ctx_for(spec: dict[str, Any]) -> Ctx:
    lang = spec["l"]
    rlang = spec.get("rl") or (lang if lang in REMINDER_BODY else "en")
    if rlang == "zh" and spec.get("hant"):
        rlang = "zh_hant"
    zone = spec.get("tz") or ZONES[lang]
    sent = datetime.strptime(f"{spec['at']} {zone}", "%Y-%m-%d %H:%M %z")
    back = timedelta(days=int(spec.get("ago", 3)), hours=5, minutes=17)
    rzone = timezone(timedelta(hours=8)) if SUPPLIERS[rlang][1].endswith(".cn") else timezone(timedelta(hours=1))
    reminder_at = (sent - back).astimezone(rzone)
    sup_name, sup_addr, company = SUPPLIERS[rlang]
    cust_name, cust_addr = _customer(spec)
    order = spec.get("o")
    amount = spec.get("amt") or _amount(spec["id"])
    what_i = 1 if spec.get("dep") else 0
    words = {k: v[what_i] for k, v in WHAT.items()}
    due = (reminder_at - timedelta(days=4)).strftime("%Y-%m-%d")
    rsubject = " ".join(REMINDER_SUBJECT[rlang].format(order=order or "").split())
    if spec.get("rsubj"):
        rsubject = spec["rsubj"]
    rbody = REMINDER_BODY[rlang].format(
        cust=cust_name.split()[0] if rlang != "de" else cust_name, what=words["en"],
        what_zh=words["zh"], what_de=words["de"], what_es=words["es"], what_fr=words["fr"],
        what_it=words["it"], what_pt=words["pt"], order=order or "", amount=amount, due=due,
        sup=sup_name, company=company).replace("  ", " ").replace(" （", "（")
    prefix = spec.get("re", "RE: " if spec.get("hant") else RE_PREFIX[lang])
    subject = spec["subj"] if "subj" in spec else prefix + rsubject
    rmsgid = f"{hashlib.sha1(spec['id'].encode()).hexdigest()[:16]}.reminder@{sup_addr.split('@')[1]}"
    return Ctx(spec, lang, sent, reminder_at, rlang, sup_name, sup_addr, cust_name, cust_addr, order,
               subject, rsubject, rbody, rmsgid)


CUSTOMERS = {
    "en": [("John Miller", "john.miller@acmetools.co.uk"), ("Sarah Johnson", "sjohnson@brightlight-usa.com"),
           ("Ahmed Khan", "ahmed@khantraders.pk"), ("Priya Nair", "priya.n@sunrisesupplies.in"),
           ("Tom Baker", "tom@bakerimports.com.au"), ("Mike O'Brien", "mike.obrien@celticbuild.ie"),
           ("Grace Mensah", "grace@accrahomestore.com.gh"), ("David Cohen", "david@cohen-trading.co.il")],
    "zh": [("王磊", "wanglei@szhuatai.com"), ("李娜", "lina_purchase@163.com"), ("张伟", "zhangwei@xm-trade.cn"),
           ("刘洋", "liuyang@qq.com")],
    "zh_hant": [("陳志明", "cm.chen@taipei-ind.com.tw"), ("黃美玲", "meiling@hk-globaltrade.com.hk"),
                ("林建宏", "jh.lin@kaohsiung-metal.com.tw")],
    "de": [("Thomas Müller", "t.mueller@mueller-handel.de"), ("Sabine Wagner", "s.wagner@wagner-bau.at"),
           ("Jürgen Schmidt", "einkauf@schmidt-technik.de"), ("Katrin Hofmann", "k.hofmann@alpin-sport.ch")],
    "es": [("Carlos García", "cgarcia@distribuciones-garcia.es"), ("María López", "compras@ferreteriamx.com.mx"),
           ("Javier Fernández", "jfernandez@importadora-andina.cl"), ("Ana Martínez", "ana@casamartinez.com.ar")],
    "fr": [("Pierre Dubois", "p.dubois@dubois-distribution.fr"), ("Nathalie Lefèvre", "n.lefevre@maison-deco.fr"),
           ("Karim Benali", "k.benali@benali-import.ma"), ("Sophie Laurent", "achats@laurent-sa.be")],
    "it": [("Marco Rossi", "m.rossi@rossiforniture.it"), ("Giulia Bianchi", "acquisti@bianchi-srl.it")],
    "pt": [("João Silva", "joao.silva@silvacomercio.com.br"), ("Ana Costa", "compras@costa-lda.pt")],
    "ru": [("Алексей Иванов", "a.ivanov@stroymarket.ru"), ("Ольга Смирнова", "o.smirnova@techsnab.by")],
    "ja": [("佐藤 健", "k.sato@sato-shoji.co.jp"), ("田中 美咲", "misaki.tanaka@tanaka-trading.jp")],
    "ar": [("محمد العتيبي", "m.alotaibi@gulf-supplies.sa"), ("عمر حداد", "omar@haddad-trading.ae")],
    "tr": [("Mehmet Yılmaz", "mehmet@yilmazticaret.com.tr"), ("Ayşe Demir", "satinalma@demiryapi.com.tr")],
}


def _customer(spec: dict[str, Any]) -> tuple[str, str]:
    if spec.get("from"):
        name, addr = email.utils.parseaddr(spec["from"])
        return name or addr.split("@")[0], addr
    pool = CUSTOMERS["zh_hant" if spec.get("hant") else spec["l"]]
    written = (spec.get("t") or "") + "\n" + (spec.get("sig") or "")
    everyone = pool + [p for ps in CUSTOMERS.values() for p in ps if p not in pool]
    for name, addr in everyone:  # the person who signed the text is the sender
        tokens = [t for t in name.split() if len(t) >= 2]
        if name in written or any(re.search(r"(?<!\w)" + re.escape(t) + r"(?!\w)", written, re.IGNORECASE)
                                  for t in tokens):
            return name, addr
    pick = int(hashlib.sha1(spec["id"].encode()).hexdigest(), 16) % len(pool)
    return pool[pick]


def _amount(key: str) -> str:
    n = int(hashlib.sha1(key.encode()).hexdigest()[:6], 16) % 90000 + 3000
    return f"USD {n:,}.00"


def assemble_plain(c: Ctx) -> str:
    s = c.spec
    chunks = [s["t"].rstrip("\n")]
    if s.get("sig"):
        chunks.append(("-- \n" if s.get("dash") else "") + s["sig"].rstrip("\n"))
    if s.get("foot"):
        chunks.append(FOOTERS[s["foot"]])
    if s.get("disc"):
        chunks.append(DISCLAIMERS[s["disc"]])
    body = "\n\n".join(chunks)
    quote = plain_quote(s.get("q", "none"), c) if s.get("k", "human") == "human" else ""
    return body + ("\n\n" + quote if quote else "") + "\n"


def _html_lines(text: str) -> str:
    out = []
    for para in text.split("\n\n"):
        out.append("<div>" + "<br>\n".join(html.escape(x) for x in para.split("\n")) + "</div>")
    return "\n<div><br></div>\n".join(out)


def assemble_html(c: Ctx) -> str:
    s = c.spec
    parts = [_html_lines(s["t"].rstrip("\n"))]
    if s.get("sig"):
        sig = ("-- \n" if s.get("dash") else "") + s["sig"].rstrip("\n")
        parts.append('<div class="signature" style="color:#555">' + _html_lines(sig) + "</div>")
    if s.get("foot"):
        parts.append(f"<div>{html.escape(FOOTERS[s['foot']])}</div>")
    if s.get("disc"):
        parts.append(f'<p style="font-size:8pt;color:gray">{html.escape(DISCLAIMERS[s["disc"]])}</p>')
    body = "\n<br>\n".join(parts)
    style = s.get("q", "none")
    head, prefixed = quote_block(style, c)
    if head and prefixed:
        body += (f'\n<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">{html.escape(head)}<br></div>'
                 f'<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
                 f'rgb(204,204,204);padding-left:1ex">{_html_lines(c.rbody)}</blockquote></div>')
    elif head:
        first, _, rest = head.partition("\n\n")
        hdr = "<br>\n".join(html.escape(x) for x in first.split("\n") if not x.startswith("____"))
        body += ('\n<div id="appendonsend"></div>\n<hr style="display:inline-block;width:98%" tabindex="-1">'
                 f'\n<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt" '
                 f'color="#000000">{hdr}</font></div>\n<div>{_html_lines(rest)}</div>')
    direction = ' dir="rtl"' if c.lang == "ar" else ""
    return (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head>'
            f'<body{direction}>\n{body}\n</body></html>\n')


CHARSETS = {"gb2312": ("gb2312", "gbk"), "gbk": ("gbk", "gbk"), "big5": ("big5", "big5"),
            "jis": ("iso-2022-jp", "iso2022_jp"), "latin1": ("iso-8859-1", "latin-1"),
            "cp1252": ("windows-1252", "cp1252"), "utf8": ("utf-8", "utf-8")}


def encode_part(ctype: str, text: str, enc: str, cte: str) -> bytes:
    """One leaf part: header lines + encoded body. enc: charset key; cte: 8bit|7bit|qp|b64."""
    label, codec = CHARSETS[enc]
    data = text.replace("\n", "\r\n").encode(codec)
    if cte == "qp":
        body = quopri.encodestring(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        cte_name = "quoted-printable"
    elif cte == "b64":
        body = base64.encodebytes(data).replace(b"\n", b"\r\n")
        cte_name = "base64"
    else:
        body = data
        cte_name = "7bit" if enc == "jis" or cte == "7bit" else "8bit"
    head = f"Content-Type: {ctype}; charset=\"{label}\"\r\nContent-Transfer-Encoding: {cte_name}\r\n\r\n"
    return head.encode("ascii") + body + (b"" if body.endswith(b"\r\n") else b"\r\n")


def enc_header(value: str, enc: str) -> str:
    """RFC 2047 encoded words in the message's own charset (as its mail client would write them)."""
    try:
        value.encode("ascii")
        return value
    except UnicodeEncodeError:
        pass
    label, codec = CHARSETS.get(enc, ("utf-8", "utf-8"))
    try:
        value.encode(codec)
    except UnicodeEncodeError:
        label, codec = "utf-8", "utf-8"
    q = label in ("iso-8859-1", "windows-1252")
    words, chunk = [], ""
    for ch in value:
        if len((chunk + ch).encode(codec)) > 42:
            words.append(chunk)
            chunk = ""
        chunk += ch
    words.append(chunk)
    out = []
    for w in words:
        data = w.encode(codec)
        if q:
            text = "".join(chr(b) if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122) else
                           ("_" if b == 32 else f"={b:02X}") for b in data)
            out.append(f"=?{label}?Q?{text}?=")
        else:
            out.append(f"=?{label.upper() if label == 'iso-2022-jp' else label}?B?{base64.b64encode(data).decode()}?=")
    return "\r\n ".join(out)


def _addr(name: str, addr: str, enc: str) -> str:
    if not name:
        return addr
    try:
        name.encode("ascii")
        return email.utils.formataddr((name, addr))
    except UnicodeEncodeError:
        return f"{enc_header(name, enc)} <{addr}>"


def attachment_part(filename: str) -> bytes:
    ext = filename.rsplit(".", 1)[-1].lower()
    ctype = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "pdf": "application/pdf"}[ext]
    seed = hashlib.sha256(filename.encode()).digest()
    if ext == "pdf":
        data = b"%PDF-1.4\n% bank remittance advice\n" + seed * 40 + b"\n%%EOF\n"
    elif ext == "png":
        data = b"\x89PNG\r\n\x1a\n" + seed * 60
    else:
        data = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + seed * 60 + b"\xff\xd9"
    try:
        filename.encode("ascii")
        fn = f'filename="{filename}"'
        nm = f'name="{filename}"'
    except UnicodeEncodeError:
        fn = "filename*=UTF-8''" + "".join(ch if ch.isalnum() and ord(ch) < 128 else
                                               "".join(f"%{b:02X}" for b in ch.encode()) for ch in filename)
        nm = f'name="{Header(filename, "utf-8").encode()}"'
    head = (f"Content-Type: {ctype}; {nm}\r\nContent-Disposition: attachment; {fn}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n")
    return head.encode() + base64.encodebytes(data).replace(b"\n", b"\r\n")


def multipart(subtype: str, parts: list[bytes], boundary: str, extra: str = "") -> bytes:
    out = [f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"{extra}\r\n\r\n".encode()]
    for p in parts:
        out.append(f"--{boundary}\r\n".encode() + p)
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def top_headers(c: Ctx, enc: str) -> list[str]:
    s = c.spec
    h = [f"From: {_addr(c.cust_name, c.cust_addr, enc)}",
         f"To: {_addr(c.sup_name, c.sup_addr, enc)}",
         f"Subject: {enc_header(c.subject, enc)}",
         f"Date: {email.utils.format_datetime(c.sent)}",
         f"Message-ID: <{hashlib.sha1((s['id'] + 'm').encode()).hexdigest()[:20]}@{c.cust_addr.split('@')[1]}>"]
    if s.get("thread", True):
        h += [f"In-Reply-To: <{c.rmsgid}>", f"References: <{c.rmsgid}>"]
    h += [f"{k}: {v}" for k, v in (s.get("hdr") or {}).items()]
    h.append("MIME-Version: 1.0")
    return h


def build_human(c: Ctx) -> bytes:
    s = c.spec
    enc = s.get("enc", "utf8")
    cte = s.get("cte", {"utf8": "8bit", "jis": "7bit"}.get(enc, "b64"))
    fmt = s.get("fmt", "plain")
    bnd = hashlib.md5(s["id"].encode()).hexdigest()[:24]
    if fmt == "plain":
        body = encode_part("text/plain", assemble_plain(c), enc, cte)
    elif fmt == "html":
        body = encode_part("text/html", assemble_html(c), enc, cte)
    else:  # alt
        body = multipart("alternative", [encode_part("text/plain", assemble_plain(c), enc, cte),
                                         encode_part("text/html", assemble_html(c), enc, cte)], "alt_" + bnd)
    if s.get("att"):
        body = multipart("mixed", [body] + [attachment_part(f) for f in s["att"]], "mix_" + bnd)
    return ("\r\n".join(top_headers(c, enc)) + "\r\n").encode() + body


def build(spec: dict[str, Any]) -> bytes:
    kind = spec.get("k", "human")
    if kind == "bounce":
        return build_bounce(spec)
    return build_human(ctx_for(spec))


# ---------------------------------------------------------------- bounces
def _diagnostic(diag: str) -> str:
    """RFC 3464 diagnostic-type; 'smtp;' once, however the source wrote it."""
    return diag if diag.lower().startswith("smtp;") else f"smtp; {diag}"


def build_bounce(s: dict[str, Any]) -> bytes:
    rl = s.get("rl", "en")
    sup_name, sup_addr, _ = SUPPLIERS[rl]
    rcpt = s["rcpt"]
    sent = datetime.strptime(f"{s['at']} {s.get('tz', '+0000')}", "%Y-%m-%d %H:%M %z")
    orig_date = email.utils.format_datetime(sent - timedelta(minutes=2))
    omid = f"{hashlib.sha1(s['id'].encode()).hexdigest()[:16]}.reminder@{sup_addr.split('@')[1]}"
    osubj = REMINDER_SUBJECT[rl].format(order=s.get("o") or "PI")
    orig_headers = (f"From: {_addr(sup_name, sup_addr, 'utf8')}\r\nTo: {rcpt}\r\n"
                    f"Subject: {enc_header(osubj, 'utf8')}\r\nDate: {orig_date}\r\nMessage-ID: <{omid}>\r\n"
                    "MIME-Version: 1.0\r\n")
    orig_body = REMINDER_BODY[rl].format(cust="Sir or Madam", what="balance", what_zh="尾款",
                                         what_de="Restzahlung", what_es="saldo", what_fr="solde",
                                         what_it="saldo", what_pt="saldo", order=s.get("o") or "PI",
                                         amount="USD 8,200.00", due="2025-03-01", sup=sup_name, company="")
    orig_part = ("Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                 + orig_body.replace("\n", "\r\n") + "\r\n")
    frm = s["from"]
    mid = f"<{hashlib.sha1((s['id'] + 'b').encode()).hexdigest()[:20]}@{s.get('mta_host', 'mx.example.net')}>"
    head = [f"From: {frm}", f"To: {sup_addr}", f"Subject: {enc_header(s['subj'].format(osubj=osubj), 'utf8')}",
            f"Date: {email.utils.format_datetime(sent)}", f"Message-ID: {mid}"]
    head += [f"{k}: {v}" for k, v in (s.get("hdr") or {}).items()]
    head.append("MIME-Version: 1.0")
    human = s["t"].format(rcpt=rcpt, sup=sup_addr, osubj=osubj, date=orig_date).rstrip("\n") + "\n"
    bnd = "dsn_" + hashlib.md5(s["id"].encode()).hexdigest()[:20]
    if s.get("report", True):
        dsn = (f"Reporting-MTA: dns; {s.get('mta_host', 'mx.example.net')}\r\n"
               f"Arrival-Date: {orig_date}\r\n\r\n"
               f"Final-Recipient: rfc822; {rcpt}\r\nOriginal-Recipient: rfc822;{rcpt}\r\n"
               f"Action: failed\r\nStatus: {s.get('status', '5.1.1')}\r\n"
               f"Remote-MTA: dns; {rcpt.split('@')[1]}\r\n"
               f"Diagnostic-Code: {_diagnostic(s.get('diag', '550 5.1.1 User unknown'))}\r\n")
        parts = [encode_part("text/plain", human, "utf8", s.get("cte", "8bit")),
                 b"Content-Type: message/delivery-status\r\n\r\n" + dsn.encode()]
        if s.get("headers_only"):
            parts.append(b"Content-Type: text/rfc822-headers\r\n\r\n" + orig_headers.encode())
        else:
            parts.append(b"Content-Type: message/rfc822\r\n\r\n" + orig_headers.encode() + orig_part.encode())
        body = multipart("report", parts, bnd, "; report-type=delivery-status")
    else:
        text = human + "\n--- Below this line is a copy of the message.\n\n" if s.get("copy", True) else human
        if s.get("copy", True):
            text += orig_headers.replace("\r\n", "\n") + "\n" + orig_body + "\n"
        body = encode_part("text/plain", text, "utf8", s.get("cte", "8bit"))
    return ("\r\n".join(head) + "\r\n").encode() + body


# ---------------------------------------------------------------- labels and checks
# Closing phrases. The label's reply_text is the text without its trailing sign-off and the name
# under it ("Best regards,\nJohn"); the scoring accepts the text with them too (reply_text_signed).
SIGN_OFFS = [
    r"(best|kind|warm|warmest|with kind|with best)?\s?regards", r"rgds", r"thanks( & regards| and regards)?",
    r"thank you", r"thanks for your patience", r"many thanks", r"cheers", r"best", r"sincerely",
    r"(mit )?freundliche(n)? gr(ü|ue)(ß|ss)e(n)?", r"(viele|beste|liebe) gr(ü|ue)(ß|ss)e(n)?", r"gr(ü|ue)sse", r"gru(ß|ss)",
    r"danke und gru(ß|ss)", r"lg", r"mfg", r"danke", r"i\.a\.",
    r"(un )?saludo(s)?( cordiales)?", r"(un )?abrazo", r"atentamente", r"quedo atent[oa]", r"gracias",
    r"(bien )?cordialement", r"bien à vous", r"salutations distinguées", r"merci( d'avance pour votre compréhension)?",
    r"bonnes vacances à vous aussi", r"bonne soirée",
    r"cordiali saluti", r"saluti", r"grazie( per la comprensione)?",
    r"com os melhores cumprimentos", r"atenciosamente", r"att\.", r"abs", r"abraço", r"obrigad[oa]",
    r"с уважением", r"спасибо",
    r"谢谢[！!]?", r"謝謝[！!]?", r"多謝", r"(引き続き)?よろしくお願いいたします。?",
    r"مع التحية،?", r"مع الشكر،?", r"تحياتي،?",
    r"saygılarımla", r"saygılar", r"iyi çalışmalar", r"teşekkürler",
]
SIGN_OFF_RE = re.compile(r"^(" + "|".join(SIGN_OFFS) + r")[,.!:;、，]*(\s+\S.{0,30})?$", re.IGNORECASE)


def split_sign_off(text: str, sender: str) -> tuple[str, str | None]:
    """(text without its trailing sign-off/name block, that block) — None when there is none."""
    lines = text.rstrip("\n").split("\n")
    names = {t for t in re.split(r"[\s.]+", sender) if len(t) >= 2} | {sender.replace(" ", "")}
    for k in range(min(4, len(lines) - 1), 0, -1):
        block = [ln.strip() for ln in lines[-k:]]
        rest = [ln for ln in block[1:]]
        if SIGN_OFF_RE.match(block[0]) and all(0 < len(ln) <= 40 for ln in rest) and len(block[0]) <= 60:
            return "\n".join(lines[:-k]).rstrip(), "\n".join(lines[-k:])
    last = lines[-1].strip()
    if len(lines) > 1 and len(last) <= 30 and any(n in last for n in names) and not re.search(r"[.!?。！？]$", last):
        return "\n".join(lines[:-1]).rstrip(), lines[-1]
    return text.rstrip("\n"), None


def label_for(s: dict[str, Any]) -> dict[str, Any]:
    kind = s.get("k", "human")
    kind = {"auto": "auto_reply"}.get(kind, kind)
    intent = s.get("i") or {"bounce": "none", "auto_reply": "absent"}[kind]
    d = s.get("d")
    core, signed = (None, None)
    if kind != "bounce":
        core, signed = split_sign_off(s["t"].strip("\n"), _customer(s)[0])
    return {
        "file": f"mail/{s['id']}.eml",
        "kind": kind,
        "intent": intent,
        "language": s.get("l") if kind != "bounce" else None,
        "script": ("hant" if s.get("hant") else "hans") if s.get("l") == "zh" else None,
        "date": d.isoformat() if isinstance(d, date) else d,
        "order": s.get("o") if kind != "bounce" else None,
        "reply_text": core if kind != "bounce" else None,
        "reply_text_signed": s["t"].strip("\n") if kind != "bounce" and signed else None,
        "bounce_recipient": s.get("rcpt") if kind == "bounce" else None,
        "quote": s.get("q", "none") if kind == "human" else None,
        "format": s.get("fmt", "plain") if kind != "bounce" else ("report" if s.get("report", True) else "plain"),
    }


def _norm(text: str) -> str:
    return " ".join(text.split())


def check(raw: bytes, label: dict[str, Any]) -> list[str]:
    sys.path.insert(0, str(HERE.parents[2]))
    from bot.core.mime import parse_message

    msg = parse_message(raw)
    problems = []
    if label["reply_text"] is not None:
        want = _norm(label["reply_text"])
        if want not in _norm(msg.text):
            problems.append(f"reply_text not found in parsed text:\n  want {want[:120]!r}\n  got  {_norm(msg.text)[:200]!r}")
    if msg.date is None:
        problems.append("no Date parsed")
    if label["kind"] == "bounce" and label["bounce_recipient"] not in msg.text + " ".join(p for _, p in msg.parts):
        problems.append("bounce recipient not visible")
    return problems


def main() -> int:
    specs: list[dict[str, Any]] = []
    for path in sorted((HERE / "src").glob("*.yaml")):
        for s in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            s["_src"] = path.name
            specs.append(s)
    ids = [s["id"] for s in specs]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise SystemExit(f"duplicate ids: {sorted(dupes)}")
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.eml"):
        old.unlink()
    labels, bad = [], 0
    for s in specs:
        try:
            raw = build(s)
        except (KeyError, ValueError, TypeError, UnicodeError) as exc:
            print(f"{s['_src']}:{s['id']}: build failed: {exc!r}")
            bad += 1
            continue
        (OUT / f"{s['id']}.eml").write_bytes(raw)
        label = label_for(s)
        for p in check(raw, label):
            print(f"{s['_src']}:{s['id']}: {p}")
            bad += 1
        labels.append(label)
    LABELS.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in labels), encoding="utf-8")
    print(f"{len(labels)} messages written, {bad} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
