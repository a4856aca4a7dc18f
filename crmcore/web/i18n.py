"""The interface's two languages: Persian (right to left, Jalali dates, Persian digits) and English (left to
right, Gregorian dates). Texts are written in English in templates and code; this table gives the
Persian. Values (dates, money, numbers) are shown by :mod:`crmcore.formatting`, not here."""
from __future__ import annotations

LANGUAGES = ("fa", "en")

FA: dict[str, str] = {
    "CRM": "مدیریت مشتریان",
    "Customers": "مشتریان", "Customer": "مشتری", "Search": "جستجو", "Reports": "گزارش‌ها",
    "Calls": "تماس‌ها", "Users": "کاربران", "Audit log": "گزارش تغییرات", "API tokens": "توکن‌های API",
    "Log in": "ورود", "Log out": "خروج", "Username": "نام کاربری", "Password": "گذرواژه",
    "Name, phone, email or customer number": "نام، تلفن، ایمیل یا شماره مشتری",
    "No customer matches.": "مشتری‌ای پیدا نشد.", "Name": "نام", "Phones": "تلفن‌ها", "Phone": "تلفن",
    "Emails": "ایمیل‌ها", "Email": "ایمیل", "Tags": "برچسب‌ها", "City": "شهر", "Address": "نشانی",
    "Owner": "مسئول", "Birthday": "تاریخ تولد", "External id": "شناسه بیرونی", "Created": "ایجاد",
    "Consent": "رضایت", "SMS": "پیامک", "Recent interactions": "تعاملات اخیر", "Kind": "نوع",
    "Channel": "کانال", "When": "زمان", "Amount": "مبلغ", "Details": "جزئیات", "New customer": "مشتری جدید",
    "Save": "ذخیره", "Edit": "ویرایش", "Add a note": "افزودن یادداشت", "Note": "یادداشت",
    "Record": "ثبت", "Nothing recorded yet.": "هنوز چیزی ثبت نشده است.", "Attributes": "ویژگی‌ها",
    "From": "از", "To": "تا", "Period": "دوره", "Run": "اجرا", "Download CSV": "دریافت CSV",
    "Totals": "جمع‌ها", "Report": "گزارش", "No rows.": "ردیفی نیست.", "Chart": "نمودار",
    "day": "روز", "week": "هفته", "month": "ماه", "year": "سال",
    "Move": "انتقال", "Move to": "انتقال به", "Boards": "بردها", "Empty": "خالی",
    "Incoming call": "تماس ورودی", "Unknown caller": "تماس‌گیرنده ناشناس", "Open the customer": "پرونده مشتری",
    "Add as customer": "افزودن به مشتریان", "Live calls": "تماس‌های زنده",
    "Waiting for calls…": "در انتظار تماس…", "Tier": "سطح", "Points": "امتیاز", "Open tickets": "تیکت‌های باز",
    "Last purchase": "آخرین خرید", "A colleague's customer": "مشتری همکار",
    "Call": "تماس", "Call this number": "تماس با این شماره",
    # keys plugins commonly use in their profile data (shown by the generic panel)
    "Balance": "مانده", "Expires": "انقضا", "Expiring": "در حال انقضا", "Open": "باز", "Status": "وضعیت",
    "Score": "امتیاز نظرسنجی", "Nps": "NPS", "Deals": "معاملات", "Tickets": "تیکت‌ها", "Stage": "مرحله",
    "Title": "عنوان", "Subject": "موضوع", "Priority": "اولویت", "Due": "سررسید", "Total": "جمع", "Count": "تعداد",
    "Last call": "آخرین تماس", "Missed": "بی‌پاسخ", "Value": "ارزش", "Next": "بعدی", "Date": "تاریخ",
    "Role": "نقش", "Active": "فعال", "Extension": "داخلی", "Language": "زبان", "Create": "ایجاد",
    "Revoke": "باطل کردن", "Level": "سطح دسترسی", "Last used": "آخرین استفاده", "Revoked": "باطل‌شده",
    "Token name": "نام توکن", "Copy this token now; it is not shown again:":
        "این توکن را همین حالا کپی کنید؛ دوباره نمایش داده نمی‌شود:",
    "Permissions": "مجوزها", "Actor": "کاربر", "Action": "عمل", "Entity": "موجودیت", "Changes": "تغییرات",
    "Send": "ارسال", "Message": "پیام", "Thank you! We will contact you soon.": "سپاس! به‌زودی با شما تماس می‌گیریم.",
    "Contact us": "تماس با ما", "Your name": "نام شما", "Mobile number": "شماره همراه",
    "Wrong username or password.": "نام کاربری یا گذرواژه نادرست است.",
    "Too many attempts; wait a minute and try again.": "تلاش‌های زیادی انجام شد؛ یک دقیقه صبر کنید و دوباره امتحان کنید.",
    "This form expired; reload the page and send it again.": "این فرم منقضی شده است؛ صفحه را دوباره بارگذاری و ارسال کنید.",
    "You may not do this.": "اجازه این کار را ندارید.", "Not found": "پیدا نشد", "Forbidden": "دسترسی مجاز نیست",
    "Back": "بازگشت", "yes": "بله", "no": "خیر", "Profile": "پرونده", "Home": "خانه",
    "Saved.": "ذخیره شد.", "Moved.": "منتقل شد.", "Persian": "فارسی", "English": "English",
    "Change password": "تغییر گذرواژه", "New password": "گذرواژه جدید", "Account": "حساب کاربری",
    "merged into": "ادغام شده در", "All reports": "همه گزارش‌ها", "Calendar": "تقویم", "Option": "گزینه",
    "Add phone": "افزودن تلفن", "Add email": "افزودن ایمیل", "Add tag": "افزودن برچسب",
    "Page not found.": "صفحه پیدا نشد.", "Something went wrong; the change was not saved.":
        "خطایی رخ داد؛ تغییر ذخیره نشد.", "Menu": "منو", "This section could not be shown.": "این بخش نمایش داده نشد.", "Close": "بستن",
    "Pending leads": "سرنخ‌های در انتظار", "No pending leads.": "سرنخی در انتظار بررسی نیست.",
    "These lead-form submissions carry the phone or email of a stored customer. Accept adds their "
    "contacts and message to that customer; reject drops them.":
        "این فرم‌های تماس، تلفن یا ایمیل یک مشتری ثبت‌شده را دارند. «پذیرش» تلفن، ایمیل و "
        "پیام را به آن مشتری می‌افزاید؛ «رد» آن‌ها را کنار می‌گذارد.",
    "The server is busy; try again in a moment.":
        "سرور مشغول است؛ لحظه‌ای دیگر دوباره امتحان کنید.",
    "never": "هرگز", "after": "پس از", "days": "روز", "Expired": "منقضی‌شده",
    "Accept": "پذیرش", "Reject": "رد", "matched by": "یافته با", "phone": "تلفن", "email": "ایمیل",
    "The panel of plugin {plugin} could not be shown.": "بخش افزونهٔ «{plugin}» نمایش داده نشد.",
    "{shown} of {total}": "{shown} از {total}", "Show all": "نمایش همه", "Goal": "هدف",
    "Dashboard": "پیشخوان", "Gregorian": "میلادی", "More": "بیشتر",
    # report columns, as headings (humanised keys) on report pages
    "Currency": "ارز", "Purchases": "خریدها", "Refunds": "مرجوعی‌ها", "Refunded": "مبلغ مرجوعی",
    "Net": "خالص", "Interactions": "تعاملات", "Customers before": "خریداران سال قبل",
    "Bought again": "خرید دوباره", "Retention pct": "نرخ نگهداشت (٪)", "Task": "کار", "Customer name": "نام مشتری",
    "Assignee": "مسئول", "Days overdue": "روز تأخیر", "Stage name": "نام مرحله", "Stage name en": "نام انگلیسی مرحله",
    "Weighted amount": "مبلغ وزنی", "Rep": "کارشناس فروش", "Rep name": "نام کارشناس", "Target": "هدف",
    "Won": "برنده‌شده", "Won deals": "معاملات برنده", "Attainment pct": "تحقق هدف (٪)", "Remaining": "باقی‌مانده",
    "Segment": "بخش", "Responses": "پاسخ‌ها", "Promoters": "مروجان", "Passives": "بی‌طرف‌ها",
    "Detractors": "منتقدان", "Promoters pct": "مروجان (٪)", "Detractors pct": "منتقدان (٪)", "Issued": "صادرشده",
    "Redeemed": "خرج‌شده", "Reversed": "برگشتی", "Other out": "سایر کسرها",
    "Agent": "کارشناس", "New": "جدید", "Pending customer": "در انتظار مشتری", "Overdue": "عقب‌افتاده",
    "Entered": "ورودی", "Advanced": "پیشرفته", "Conversion pct": "نرخ تبدیل (٪)", "Completed": "انجام‌شده",
    "On time": "به‌موقع", "Late": "با تأخیر", "Earning": "کسب امتیاز",
    "Redeeming": "خرج امتیاز", "Members": "اعضا", "Deal": "معامله", 
    "Last activity": "آخرین فعالیت", "Idle days": "روزهای راکد", "Source": "منبع", "Source name": "نام منبع",
    "Leads": "سرنخ‌ها", "Converted": "تبدیل‌شده", "Disqualified": "ردشده", "Won amount": "مبلغ برنده",
    "First response met": "پاسخ اول در موعد", "First response missed": "پاسخ اول با تأخیر",
    "First response pct": "پاسخ اول در موعد (٪)", "Resolution met": "حل در موعد",
    "Resolution missed": "حل با تأخیر", "Resolution pct": "حل در موعد (٪)", "First responses": "پاسخ‌های اول",
    "First response median hours": "میانه پاسخ اول (ساعت)", "First response p90 hours": "صدک ۹۰ پاسخ اول (ساعت)",
    "Resolutions": "حل‌شده‌ها", "Resolution median hours": "میانه حل (ساعت)",
    "Resolution p90 hours": "صدک ۹۰ حل (ساعت)", "Csat": "CSAT", "Satisfied": "راضی", "Not a phone number": "شماره تلفن معتبر نیست",
    # the customer list
    "Saved segments": "بخش‌های ذخیره‌شده", "Filters": "فیلترها", "Tag": "برچسب", "Any": "همه",
    "Last purchase from": "آخرین خرید از", "Last purchase to": "آخرین خرید تا",
    "Spent at least": "خرید دست‌کم", "Spent at most": "خرید حداکثر",
    "More conditions, one a line": "شرط‌های دیگر، هر کدام در یک خط",
    "Sort": "مرتب‌سازی", "Newest first": "جدیدترین", "Oldest first": "قدیمی‌ترین", "Name A–Z": "نام (الف تا ی)",
    "Name Z–A": "نام (ی تا الف)", "Filter": "اعمال فیلتر", "Clear": "پاک کردن", "Segment name": "نام بخش",
    "Save as segment": "ذخیره به عنوان بخش", "Delete this segment": "حذف این بخش",
    "{n} customers": "{n} مشتری", "Bulk action": "عملیات گروهی", "Assign owner": "تعیین مسئول",
    "Export CSV": "خروجی CSV", "Tag or owner": "برچسب یا مسئول",
    "every customer in the list": "همه مشتریان فهرست", "Apply": "اجرا", "Choose": "انتخاب", "Spent": "جمع خرید",
    "Pages": "صفحه‌ها", "Page {p} of {n}": "صفحه {p} از {n}", "Previous": "قبلی", "Next page": "بعدی",
    # staff notifications
    "Notifications": "اعلان‌ها", "Mark all read": "همه خوانده شد", "Mark read": "خوانده شد",
    "No notifications.": "اعلانی ندارید.", "Go to it": "رفتن به آن", "reminder": "یادآوری",
    "sla_warning": "هشدار مهلت", "sla_breach": "مهلت گذشت",
    "ticket_assigned": "تیکت به شما سپرده شد",
    "deal_assigned": "معامله به شما سپرده شد", "transfer_pending": "انتقال در انتظار تأیید",
    "info": "اطلاع", "My notifications": "اعلان‌های من", "Mobile": "تلفن همراه", "Channels": "کانال‌ها",
    "Task reminders, SLA warnings and what is given to you: always in your list; also here:":
        "یادآوری کارها، هشدار مهلت‌ها و آنچه به شما سپرده می‌شود همیشه در فهرست اعلان‌هایتان است؛ و همچنین:",
    "Pop-up on open pages": "پنجرهٔ روی صفحه‌های باز",
}
# the customer 360° page: header, timeline and quick actions
FA.update({
    "Timeline": "رویدادها", "All": "همه", "Interactions and notes": "تعاملات و یادداشت‌ها",
    "Older": "قدیمی‌تر", "Newest": "جدیدترین", "Quick actions": "اقدام سریع",
    "Record a sale": "ثبت فروش", "Amount ({unit})": "مبلغ ({unit})", "Currency": "ارز",
    "Receipt number (optional)": "شماره فاکتور (اختیاری)",
    "Some parts from {plugins} could not be shown.": "بخشی از {plugins} نمایش داده نشد.",
    "No events yet.": "هنوز رویدادی ثبت نشده است.",
})


def translate(text: str, lang: str) -> str:
    if lang == "fa":
        return FA.get(text, text)
    return text
