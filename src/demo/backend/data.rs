//! In-memory data of the demo legacy system: customers, orders, price list.

/// Customer tier (`CustomerTier` in the WSDL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tier {
    Gold,
    Silver,
    Bronze,
}

impl Tier {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Gold => "Gold",
            Self::Silver => "Silver",
            Self::Bronze => "Bronze",
        }
    }
}

/// Order status (`OrderStatus` in the WSDL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Open,
    Shipped,
    Cancelled,
}

impl Status {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Shipped => "Shipped",
            Self::Cancelled => "Cancelled",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Shipped, Self::Cancelled]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub(super) struct Phone {
    pub(super) kind: &'static str,
    pub(super) number: &'static str,
}

#[derive(Debug, Clone)]
pub(super) struct Address {
    pub(super) street: &'static str,
    pub(super) city: &'static str,
    pub(super) postcode: &'static str,
    pub(super) country: &'static str,
}

#[derive(Debug, Clone)]
pub(super) struct Customer {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    pub(super) email: String,
    pub(super) tier: Tier,
    pub(super) since: &'static str,
    /// Balance in minor units (pence/cents).
    pub(super) balance: i64,
    pub(super) active: bool,
    pub(super) phones: Vec<Phone>,
    pub(super) address: Address,
}

#[derive(Debug, Clone)]
pub(super) struct OrderLine {
    pub(super) sku: String,
    pub(super) description: String,
    pub(super) quantity: i32,
    /// Unit price in minor units.
    pub(super) unit_price: i64,
}

impl OrderLine {
    pub(super) fn amount(&self) -> i64 {
        i64::from(self.quantity) * self.unit_price
    }
}

#[derive(Debug, Clone)]
pub(super) struct Order {
    pub(super) customer_id: String,
    pub(super) order_id: String,
    pub(super) placed: String,
    pub(super) status: Status,
    pub(super) currency: String,
    pub(super) lines: Vec<OrderLine>,
}

impl Order {
    /// Order total in minor units.
    pub(super) fn total(&self) -> i64 {
        self.lines.iter().map(OrderLine::amount).sum()
    }
}

/// The price list used by `CreateOrder`: (sku, description, unit price in minor units).
pub(super) const PRICE_LIST: &[(&str, &str, i64)] = &[
    ("WIDGET-S", "Small widget", 250),
    ("GADGET-M", "Medium gadget", 1999),
    ("GIZMO-L", "Large gizmo", 4900),
    ("CABLE-1M", "Connector cable, 1 m", 475),
];

/// Builds an order line from the price list, if the sku exists.
pub(super) fn priced_line(sku: &str, quantity: i32) -> Option<OrderLine> {
    PRICE_LIST
        .iter()
        .find(|(s, _, _)| *s == sku)
        .map(|(s, desc, price)| OrderLine {
            sku: (*s).to_owned(),
            description: (*desc).to_owned(),
            quantity,
            unit_price: *price,
        })
}

/// Formats minor units as a decimal with two fraction digits, e.g. `1250.50`.
pub(super) fn money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// The mutable state of the legacy system.
#[derive(Debug)]
pub(super) struct Store {
    pub(super) customers: Vec<Customer>,
    pub(super) orders: Vec<Order>,
    pub(super) next_order_no: u32,
}

impl Store {
    pub(super) fn customer(&self, id: &str) -> Option<&Customer> {
        self.customers.iter().find(|c| c.id == id)
    }

    pub(super) fn customer_mut(&mut self, id: &str) -> Option<&mut Customer> {
        self.customers.iter_mut().find(|c| c.id == id)
    }

    /// The seed data: customers 42 (Gold), 7 (Silver) and 1001 (Bronze).
    pub(super) fn seed() -> Self {
        Self {
            customers: vec![customer_42(), customer_7(), customer_1001()],
            orders: seed_orders(),
            next_order_no: 2001,
        }
    }
}

fn customer_42() -> Customer {
    Customer {
        id: "42",
        name: "Ada Lovelace",
        email: "ada.lovelace@example.com".to_owned(),
        tier: Tier::Gold,
        since: "2009-03-14",
        balance: 125_050,
        active: true,
        phones: vec![
            Phone {
                kind: "mobile",
                number: "+44 20 7946 0000",
            },
            Phone {
                kind: "home",
                number: "+44 20 7946 0018",
            },
        ],
        address: Address {
            street: "12 Analytical Row",
            city: "London",
            postcode: "EC1A 1BB",
            country: "GB",
        },
    }
}

fn customer_7() -> Customer {
    Customer {
        id: "7",
        name: "Grace Hopper",
        email: "grace@example.org".to_owned(),
        tier: Tier::Silver,
        since: "2015-12-09",
        balance: 4_999,
        active: true,
        phones: vec![Phone {
            kind: "work",
            number: "+1 202 555 0143",
        }],
        address: Address {
            street: "1 Compiler Way",
            city: "Arlington",
            postcode: "22201",
            country: "US",
        },
    }
}

fn customer_1001() -> Customer {
    Customer {
        id: "1001",
        name: "O'Brien & Sons <Ltd>",
        email: "accounts@obrien.example.net".to_owned(),
        tier: Tier::Bronze,
        since: "2023-07-01",
        balance: 0,
        active: false,
        phones: Vec::new(),
        address: Address {
            street: "3 Quay Street",
            city: "Galway",
            postcode: "H91 X2Y3",
            country: "IE",
        },
    }
}

fn line(sku: &str, quantity: i32) -> OrderLine {
    priced_line(sku, quantity).unwrap_or_else(|| OrderLine {
        sku: sku.to_owned(),
        description: sku.to_owned(),
        quantity,
        unit_price: 0,
    })
}

fn order(customer: &str, id: &str, placed: &str, status: Status, lines: Vec<OrderLine>) -> Order {
    let currency = if customer == "7" { "USD" } else { "GBP" };
    Order {
        customer_id: customer.to_owned(),
        order_id: id.to_owned(),
        placed: placed.to_owned(),
        status,
        currency: currency.to_owned(),
        lines,
    }
}

fn seed_orders() -> Vec<Order> {
    use Status::{Cancelled, Open, Shipped};
    vec![
        order(
            "42",
            "ORD-0950",
            "2024-01-15T09:30:00Z",
            Shipped,
            vec![line("WIDGET-S", 4), line("GADGET-M", 1)],
        ),
        order(
            "42",
            "ORD-0975",
            "2024-02-02T17:12:45Z",
            Cancelled,
            vec![line("CABLE-1M", 2)],
        ),
        order(
            "42",
            "ORD-0998",
            "2024-03-02T14:05:00Z",
            Shipped,
            vec![line("GIZMO-L", 2), line("CABLE-1M", 3)],
        ),
        order(
            "42",
            "ORD-1001",
            "2024-05-20T11:00:00Z",
            Open,
            vec![line("WIDGET-S", 10), line("GADGET-M", 2), line("CABLE-1M", 1)],
        ),
        order(
            "42",
            "ORD-1003",
            "2024-06-01T08:15:30Z",
            Open,
            vec![line("GIZMO-L", 1)],
        ),
        order(
            "7",
            "ORD-0777",
            "2024-02-10T16:45:00Z",
            Shipped,
            vec![line("GADGET-M", 1)],
        ),
    ]
}
