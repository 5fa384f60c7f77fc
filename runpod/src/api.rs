pub async fn serve() {}
