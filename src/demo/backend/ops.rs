//! The four operations of `CustomerService`, producing `Body` content.

use std::fmt::Write as _;

use quick_xml::escape::escape;

use super::data::{money, priced_line, Customer, Order, OrderLine, Status, Store};
use super::request::{Field, Request};
use super::soap::Fault;

/// Runs the operation named in the request; returns the response element.
pub(super) fn dispatch(req: &Request, store: &mut Store) -> Result<String, Fault> {
    match req.operation.as_str() {
        "GetCustomer" => get_customer(req, store),
        "ListOrders" => list_orders(req, store),
        "CreateOrder" => create_order(req, store),
        "UpdateEmail" => update_email(req, store),
        other => Err(Fault::client(format!("Unknown operation '{other}'"))),
    }
}

/// `<c:name>escaped text</c:name>`
fn el(name: &str, text: &str) -> String {
    format!("<c:{name}>{}</c:{name}>", escape(text))
}

/// Looks a customer up; id `500` simulates a crash of the legacy system.
fn find<'s>(store: &'s Store, id: &str) -> Result<&'s Customer, Fault> {
    if id == "500" {
        return Err(Fault::server("internal error in legacy system"));
    }
    store.customer(id).ok_or_else(|| Fault::customer_not_found(id))
}

fn get_customer(req: &Request, store: &Store) -> Result<String, Fault> {
    let c = find(store, req.required("customerId")?)?;
    let mut phones = String::new();
    for p in &c.phones {
        let _ = write!(
            phones,
            "<c:phone type=\"{}\">{}</c:phone>",
            escape(p.kind),
            escape(p.number)
        );
    }
    let a = &c.address;
    let address = [
        el("street", a.street),
        el("city", a.city),
        el("postcode", a.postcode),
        el("country", a.country),
    ]
    .concat();
    let customer = [
        el("id", c.id),
        el("name", c.name),
        el("email", &c.email),
        el("tier", c.tier.as_str()),
        el("since", c.since),
        el("balance", &money(c.balance)),
        el("active", if c.active { "true" } else { "false" }),
        format!("<c:phones>{phones}</c:phones>"),
        format!("<c:address>{address}</c:address>"),
    ]
    .concat();
    Ok(format!(
        "<c:GetCustomerResponse><c:customer>{customer}</c:customer></c:GetCustomerResponse>"
    ))
}

fn list_orders(req: &Request, store: &Store) -> Result<String, Fault> {
    let customer = find(store, req.required("customerId")?)?;
    let status = match req.optional("status").filter(|s| !s.is_empty()) {
        Some(s) => Some(Status::parse(s).ok_or_else(|| {
            Fault::client(format!(
                "Invalid status '{s}': expected Open, Shipped or Cancelled"
            ))
        })?),
        None => None,
    };
    let orders: String = store
        .orders
        .iter()
        .filter(|o| o.customer_id == customer.id)
        .filter(|o| status.is_none_or(|s| o.status == s))
        .map(order_xml)
        .collect();
    Ok(format!(
        "<c:ListOrdersResponse><c:orders>{orders}</c:orders></c:ListOrdersResponse>"
    ))
}

fn order_xml(o: &Order) -> String {
    let lines: String = o.lines.iter().map(line_xml).collect();
    [
        "<c:order>".to_owned(),
        el("orderId", &o.order_id),
        el("placed", &o.placed),
        el("status", o.status.as_str()),
        el("total", &money(o.total())),
        el("currency", &o.currency),
        format!("<c:lines>{lines}</c:lines>"),
        "</c:order>".to_owned(),
    ]
    .concat()
}

fn line_xml(l: &OrderLine) -> String {
    [
        "<c:line>".to_owned(),
        el("sku", &l.sku),
        el("description", &l.description),
        el("quantity", &l.quantity.to_string()),
        el("unitPrice", &money(l.unit_price)),
        "</c:line>".to_owned(),
    ]
    .concat()
}

fn create_order(req: &Request, store: &mut Store) -> Result<String, Fault> {
    let customer_id = find(store, req.required("customerId")?)?.id;
    let currency = req.required("currency")?;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Fault::client(format!(
            "Invalid currency '{currency}': expected an ISO 4217 code such as GBP"
        )));
    }
    let lines = req
        .records("lines/line")
        .iter()
        .map(|fields| new_line(fields))
        .collect::<Result<Vec<_>, _>>()?;
    if lines.is_empty() {
        return Err(Fault::client("An order needs at least one c:lines/c:line"));
    }
    let order_id = format!("ORD-{}", store.next_order_no);
    store.next_order_no += 1;
    let order = Order {
        customer_id: customer_id.to_owned(),
        order_id,
        placed: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        status: Status::Open,
        currency: currency.to_owned(),
        lines,
    };
    let body = [
        el("orderId", &order.order_id),
        el("status", order.status.as_str()),
        el("total", &money(order.total())),
    ]
    .concat();
    store.orders.push(order);
    Ok(format!("<c:CreateOrderResponse>{body}</c:CreateOrderResponse>"))
}

/// One `lines/line` of a `CreateOrder` request, priced from the price list.
fn new_line(fields: &[&Field]) -> Result<OrderLine, Fault> {
    let get = |name: &str| {
        fields
            .iter()
            .find(|f| f.path == format!("lines/line/{name}") && !f.value.is_empty())
            .map(|f| f.value.as_str())
            .ok_or_else(|| Fault::client(format!("Missing required element c:lines/c:line/c:{name}")))
    };
    let sku = get("sku")?;
    let raw_qty = get("quantity")?;
    let quantity: i32 = raw_qty
        .parse()
        .map_err(|_| Fault::client(format!("Invalid quantity '{raw_qty}': not an xs:int")))?;
    if quantity <= 0 {
        return Err(Fault::client(format!(
            "Invalid quantity {quantity} for sku {sku}: must be greater than 0"
        ))
        .with_subcode("InvalidQuantity"));
    }
    priced_line(sku, quantity)
        .ok_or_else(|| Fault::client(format!("Unknown sku '{sku}'")).with_subcode("UnknownSku"))
}

fn update_email(req: &Request, store: &mut Store) -> Result<String, Fault> {
    let id = req.required("customerId")?;
    find(store, id)?;
    let email = req.required("email")?;
    if !email.contains('@') {
        return Err(Fault::client(format!("Invalid email address '{email}'")).with_subcode("InvalidEmail"));
    }
    let customer = store
        .customer_mut(id)
        .ok_or_else(|| Fault::customer_not_found(id))?;
    let updated = customer.email != email;
    customer.email = email.to_owned();
    Ok(format!(
        "<c:UpdateEmailResponse>{}</c:UpdateEmailResponse>",
        el("updated", if updated { "true" } else { "false" })
    ))
}
